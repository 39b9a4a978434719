from nbflow.cli import entry

entry()
