"""`kerabert presets`: the built-in preset names as a table."""


from kerabert.cli import add_command


def register(commands):
    parser = add_command(
        commands, "presets", "list the built-in model names that from_preset and the "
        "commands accept (downloaded from the Hugging Face Hub on first use)")
    parser.set_defaults(run=run)


def run(args):
    from rich.console import Console
    from rich.table import Table

    from kerabert.presets import registry

    table = Table(
        title="kerabert presets (from_preset(name); downloaded from the Hugging Face Hub)")
    table.add_column("name", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("Hugging Face repo", overflow="fold")
    table.add_column("description")
    for preset in registry.list_presets():
        table.add_row(preset["name"], registry.format_params(preset["params"]),
                      preset["hf_repo"], preset["description"])
    Console().print(table)
    return 0
