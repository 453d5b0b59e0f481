"""The grammar of the ``seglab`` command: its commands and options (no behaviour).

Kept apart from :mod:`seglab.cli` (which runs the commands) so that the report can check
that a command it prints would parse, without importing what runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from seglab import __version__
from seglab.config import available_stages

__all__ = ["build_parser", "STAGE_HELP"]

STAGE_HELP = {
    "collect": "load the data, run the quality gate, write the canonical tables",
    "features": "compute the customer features as of the period's end",
    "cluster": "fit the segments and the customer map",
    "personas": "profile, name and explain the segments; export audiences",
    "report": "render the persona report (HTML, optionally PDF)",
}

def _add_run_options(parser: argparse.ArgumentParser, *, pdf: bool) -> None:
    parser.add_argument("--dataset", default="sample",
                        help="built-in dataset name or path of a dataset spec (.yaml); default: sample")
    parser.add_argument("--period", default=None,
                        help="2011Q3, 2011-09, 2011, an as-of date or 'all'; default: latest complete quarter")
    parser.add_argument("--compare-to", dest="compare_to", default=None,
                        help="the period to compare with; default: the previous period when its run exists")
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML file of notebook parameters (see the list below)")
    parser.add_argument("--out", type=Path, default=None,
                        help="reports folder; default: reports/ in the project folder (the nearest "
                             "folder up from here holding .seglab/, reports/ or seglab's pyproject.toml)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                        help="where the table work runs: duckdb (in-process) or spark; default: the "
                             "dataset spec's engine, else duckdb")
    parser.add_argument("--spark-master", dest="spark_master", default=None, metavar="URL",
                        help="Spark master with --engine spark: local[2], spark://host:7077, yarn, "
                             "k8s://…, sc://host:15002; default: the spec's, else local[*] (Spark "
                             "settings: engine_config in --config)")
    if pdf:
        parser.add_argument("--pdf", action="store_true",
                            help="also print the report to report.pdf (needs chromium)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide progress bars")


def build_parser(argv: list[str] | None = None, *,
                 epilog_for: Callable[[list[str]], str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``seglab`` command.

    Parameters
    ----------
    argv
        The arguments that will be parsed (default: ``sys.argv[1:]``): when they ask for a
        command's help, ``epilog_for(stages)`` gives the text shown below it (the command
        line lists the notebooks' parameters there).
    epilog_for
        Makes a command's help epilog from the stages it runs; None shows none.

    Returns
    -------
    argparse.ArgumentParser
    """
    argv = sys.argv[1:] if argv is None else argv
    wants_help = any(a in ("-h", "--help") for a in argv)
    parser = argparse.ArgumentParser(
        prog="seglab", description="Customer segmentation: collect → features → cluster → "
        "personas → report, one run folder per dataset and period.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  seglab run                               the default dataset, latest quarter\n"
               "  seglab run --dataset online_retail --period 2011Q3 --compare-to 2011Q2 --pdf\n"
               "  seglab datasets                          list datasets and their periods\n"
               "  seglab sample --out my_sample            write synthetic data + a spec")
    parser.add_argument("--version", action="version", version=f"seglab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="command")

    stages = available_stages()
    epilog = epilog_for if wants_help and epilog_for is not None else (lambda stages: None)
    run = sub.add_parser("run", help="run every stage in order into the run folder",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog=epilog(stages) if "run" in argv else None)
    _add_run_options(run, pdf=True)
    for stage in stages:
        p = sub.add_parser(stage, help=STAGE_HELP[stage],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog=epilog([stage]) if stage in argv else None)
        _add_run_options(p, pdf=stage == "report")

    sub.add_parser("datasets", help="list the built-in datasets and their periods")
    sample = sub.add_parser("sample", help="write synthetic data with planted segments and a spec")
    sample.add_argument("--out", type=Path, required=True, help="folder to write into")
    sample.add_argument("--seed", type=int, default=None, help="random seed (default: the sample's)")
    sample.add_argument("--customers", type=int, default=None, help="number of customers")
    sample.add_argument("--segments", type=int, default=None, help="number of planted segments (2-8)")
    sample.add_argument("--b2b", action="store_true", help="business customers (firmographic data)")
    return parser
