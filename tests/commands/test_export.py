"""`kerabert export` keeps an earlier export unless told to replace it. (What
the exports answer is tested in tests/serving/test_export_command.py, which
also replaces one with --overwrite.)"""

from kerabert import cli


def test_export_refuses_an_existing_folder_before_loading(tmp_path, capsys):
    output = tmp_path / "export" / "1"
    output.mkdir(parents=True)
    (output / "saved_model.pb").write_bytes(b"an earlier export")
    # The preset does not exist: the refusal must come first, before any loading.
    assert cli.main(["export", str(tmp_path / "no_such_model"), str(output)]) == 1
    error = capsys.readouterr().err
    assert f"{output} exists and is not empty; pass --overwrite to replace it." in error
    assert "was not found" not in error
    assert (output / "saved_model.pb").read_bytes() == b"an earlier export"

    target = tmp_path / "a_file"
    target.write_text("x")
    assert cli.main(["export", str(tmp_path / "no_such_model"), str(target),
                     "--overwrite"]) == 1
    assert f"{target} exists and is not a folder." in capsys.readouterr().err


def test_export_to_an_empty_folder_goes_on_to_load(tmp_path, capsys):
    output = tmp_path / "empty"
    output.mkdir()
    assert cli.main(["export", str(tmp_path / "no_such_model"), str(output)]) == 1
    assert "was not found" in capsys.readouterr().err
