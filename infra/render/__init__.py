"""How views leave the process: tables for the terminal and files (`tables.py`), charts
(`charts.py`) and progress bars (`progress.py`); shared by the CLI, the exports and the site."""
