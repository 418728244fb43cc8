"""`python -m bench`: see bench/pipeline.py."""

import typer

from .pipeline import main

typer.run(main)
