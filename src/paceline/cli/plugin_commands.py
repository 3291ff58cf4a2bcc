"""`paceline plugins`: which plugins are registered and what each adds."""

from __future__ import annotations

from paceline.cli import JSON_OPTION, app, handles_errors, out
from paceline.terminal import escape, new_table


@app.command("plugins")
@handles_errors
def plugins_command(as_json: bool = JSON_OPTION) -> None:
    """List the plugins (built-in and installed) with their import sources and channels."""
    from paceline import plugins
    from paceline.serialize import dumps

    found = plugins.installed()
    plugins.import_sources(), plugins.alert_channels(), plugins.routers()  # ask every hook
    failed = plugins.failures()
    if as_json:
        out.print_json(dumps({"plugins": found, "failures": failed}))
        return
    table = new_table("plugin", "package", "import sources", "alert channels", "hooks")
    for info in found:
        package = f"{info.package} {info.version}" if info.package else "built in"
        table.add_row(
            info.name,
            package,
            ", ".join(info.import_sources),
            ", ".join(info.alert_channels),
            ", ".join(info.hooks),
        )
    out.print(table)
    for failure in failed:
        out.print(
            f"set aside: {failure.plugin} ({failure.stage}): {escape(failure.error)}",
            highlight=False,
        )
