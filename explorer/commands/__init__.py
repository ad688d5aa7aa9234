"""The glue behind each `explorer` subcommand: parse, load, drive a core generator, print."""
