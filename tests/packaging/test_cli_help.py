"""``nats-harness --help``, every subcommand's help, and errors that name the bad argument.

The subcommands and their options are read from :func:`nats_fault_harness.cli.build_parser` (and the
stand-alone proxy's parser for ``toxiproxy``), so a new subcommand or option is checked
without touching this file.
"""

from __future__ import annotations

import argparse

import pytest

from nats_fault_harness.cli import build_parser, main
from nats_fault_harness.proxy._main import build_parser as proxy_parser


def subparsers() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser; ``toxiproxy`` is the proxy's own (it parses its args)."""
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = dict(action.choices)
    parsers["toxiproxy"] = proxy_parser("nats-harness toxiproxy")
    return parsers


def documented_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
        and a.help != argparse.SUPPRESS
    ]


COMMANDS = sorted(subparsers())


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps help at the terminal width


def test_every_subcommand_is_known() -> None:
    assert {"run", "report", "smoke", "toxiproxy"} <= set(COMMANDS)


def test_top_level_help_lists_every_subcommand_with_its_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    assert out.startswith("usage: nats-harness")
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for c in action._choices_actions}
    for command in COMMANDS:
        assert helps.get(command), f"subcommand {command} has no help line"
        assert f"    {command} " in out or f"    {command}\n" in out, command
    assert "COMMAND --help" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_help_documents_every_option(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    parser = subparsers()[command]
    assert parser.description, f"nats-harness {command} has no description"
    code, out, err = _run(capsys, command, "--help")
    assert code == 0, err
    assert out.startswith(f"usage: nats-harness {command}"), out
    assert parser.description.split()[0] in out
    for action in documented_actions(parser):
        name = action.option_strings[0] if action.option_strings else action.metavar
        assert action.help, f"nats-harness {command}: {name or action.dest} has no help"
        assert str(name or action.dest) in out, (name, out)


def test_bad_sut_names_the_argument_and_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", "--sut", "nocolon")
    assert code == 2
    assert "nats-harness run: error: argument --sut:" in err
    assert "MODULE:FACTORY" in err
    assert "'nocolon'" in err


def test_unknown_subcommand_lists_the_accepted_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "frob")
    assert code == 2
    assert "argument COMMAND: invalid choice: 'frob'" in err
    for command in COMMANDS:
        assert f"'{command}'" in err


def test_unknown_option_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", "--frob")
    assert code == 2
    assert "unrecognized arguments: --frob" in err


def test_missing_required_argument_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "report")
    assert code == 2
    assert "the following arguments are required: IN.json" in err


def _int_options() -> list[tuple[str, str]]:
    return [
        (command, action.option_strings[0])
        for command, parser in subparsers().items()
        for action in parser._actions
        if action.type is int and action.option_strings
    ]


@pytest.mark.parametrize(("command", "option"), _int_options())
def test_a_non_number_is_named_with_the_expected_type(
    capsys: pytest.CaptureFixture[str], command: str, option: str
) -> None:
    code, _, err = _run(capsys, command, option, "many")
    assert code == 2
    assert f"argument {option}" in err
    assert "invalid int value: 'many'" in err


def test_proxy_port_out_of_range_names_the_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "toxiproxy", "--port", "70000")
    assert code == 2
    assert "--port must be between 0 and 65535, got 70000" in err


def test_top_level_help_ends_with_the_documentation_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    from packaging_support import ROOT

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    monkeypatch.setenv("COLUMNS", "40")  # the URL stays whole on a narrow terminal
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    assert out.rstrip().splitlines()[-1] == f"Documentation: {urls['Documentation']}"
