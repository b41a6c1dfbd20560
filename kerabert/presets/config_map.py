"""Config maps: which field of another library's config holds each constructor
argument of a kerabert model. Like weight maps, one table serves reading a
config (`read`) and writing one (`write`), so the two agree by construction.

A table is a sequence of `(kerabert argument, other library's key, default)`;
`REQUIRED` as the default means a config without the key cannot be read.
"""

REQUIRED = object()


def read(table, config, who):
    """`{kerabert argument: value}` from `config` (a dict). `who` names the
    config in the error raised for missing required keys."""
    missing = [key for _, key, default in table if default is REQUIRED and key not in config]
    if missing:
        raise ValueError(f"{who} lacks {missing}; it must name at least "
                         f"{[key for _, key, default in table if default is REQUIRED]}.")
    return {name: config.get(key, default) for name, key, default in table
            if not (default is REQUIRED and key not in config)}


def write(table, obj):
    """`{other library's key: value}` from the attributes of `obj` (the first
    argument a key appears with wins, for keys two arguments share)."""
    config = {}
    for name, key, _ in table:
        config.setdefault(key, getattr(obj, name))
    return config
