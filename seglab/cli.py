"""The ``seglab`` command.

Exit status: 0 on success, 2 on bad input or parameters, or when another run of the
same dataset and period is in progress (the message says what to fix; no traceback),
1 on an internal error (``--debug`` shows the traceback). seglab's warnings (a new
salt, data repaired on the way in) are printed as ``seglab: warning: …``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
import warnings
from pathlib import Path

import yaml

from seglab._io import load_yaml

from seglab import _commands, exceptions
from seglab.exceptions import ParameterError, RunInProgressError, SeglabError, SeglabWarning, StageError

__all__ = ["main", "build_parser"]

_BAD_INPUT = {name for name in exceptions.__all__
              if isinstance(getattr(exceptions, name), type)
              and issubclass(getattr(exceptions, name), (exceptions.InputError, exceptions.ParameterError))}


def _parameters_epilog(stages: list[str]) -> str:
    from seglab.runner import notebook_parameters

    lines = ["notebook parameters (set any of them in the --config YAML file):"]
    for stage in stages:
        params = notebook_parameters(stage)
        lines.append(f"  {stage}:")
        for name, info in params.items():
            if name in ("dataset", "period", "run_dir", "engine", "spark_master"):  # options
                continue
            default = info["default"]
            text = f"    {name} ({info['type']}, default {default}): {info['help']}"
            lines.extend(textwrap.wrap(text, 100, subsequent_indent="        "))
    return "\n".join(lines)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; the notebook parameters of a command are listed only when its
    help is asked for (see :func:`seglab._commands.build_parser`)."""
    return _commands.build_parser(argv, epilog_for=_parameters_epilog)


def _read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    if not path.is_file():
        raise ParameterError(f"--config file not found: {path}")
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ParameterError(f"--config {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"--config {path} must map parameter names to values")
    return data


def _cmd_datasets() -> int:
    from seglab.collect.stage import available_periods, dataset_date_range
    from seglab.collect.spec import load_spec
    from seglab.datasets import list_datasets

    table = list_datasets()
    for row in table.itertuples():
        spec = load_spec(row.name)
        span = dataset_date_range(spec)
        if span is None:
            periods = "all (no dates: a customer table)"
        else:
            found = available_periods(*span, kind=spec.period_kind)
            periods = (f"{found[0].label} … {found[-1].label} ({len(found)} {spec.period_kind}s; "
                       f"data {span[0].date()} to {span[1].date()})" if found else "as-of dates only")
        print(f"{row.name}\n  {row.title}\n  tables: {row.tables}\n  periods: {periods}\n"
              f"  licence: {row.licence}\n")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from seglab.datasets import write_sample

    kwargs = {k: v for k, v in {"seed": args.seed, "n_customers": args.customers,
                                "n_segments": args.segments, "b2b": args.b2b or None}.items()
              if v is not None}
    spec = write_sample(args.out, **kwargs)
    print(f"wrote synthetic data to {args.out}/ (truth.parquet holds the planted segments, campaign_truth.parquet "
          "each campaign's planted effect per segment, feedback_truth.parquet the planted NPS and CSAT)\n"
          f"run it with: seglab run --dataset {spec}")
    return 0


def _cmd_run(args: argparse.Namespace, stages: list[str] | None) -> int:
    from seglab.runner import run_pipeline

    config = _read_config(args.config)
    if args.compare_to:
        config["compare_to"] = args.compare_to
    if args.engine:
        config["engine"] = args.engine
    if args.spark_master:
        config["spark_master"] = args.spark_master
    if getattr(args, "pdf", False):
        config["pdf"] = True
    if stages is None:
        result = run_pipeline(args.dataset, args.period, config=config, out=args.out,
                              progress=args.progress)
    else:
        from seglab.runner import run_single_stage

        result = run_single_stage(stages[0], args.dataset, args.period, config=config, out=args.out,
                                  progress=args.progress)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"done: {result.folder.path} ({timings})")
    if result.folder.report_html.exists():
        print(f"report: {result.folder.report_html}")
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, SeglabWarning):  # for the user: the message, not our source line
        print(f"seglab: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seglab`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(parser, args)


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "datasets":
            return _cmd_datasets()
        if args.command == "sample":
            return _cmd_sample(args)
        if args.command == "run":
            return _cmd_run(args, None)
        return _cmd_run(args, [args.command])
    except StageError as err:
        print(f"seglab: error: {err}", file=sys.stderr)
        return 2 if err.error_name in _BAD_INPUT else 1
    except (exceptions.InputError, exceptions.ParameterError, RunInProgressError) as err:
        print(f"seglab: error: {err}", file=sys.stderr)
        return 2
    except SeglabError as err:
        print(f"seglab: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seglab: interrupted; earlier results are untouched", file=sys.stderr)
        return 130
    except Exception as err:  # an internal error: say so, keep the traceback for --debug
        if args.debug:
            raise
        print(f"seglab: internal error: {type(err).__name__}: {err}\n"
              "rerun with --debug for the traceback, and please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
