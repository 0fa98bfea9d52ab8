from procert.cli.main import app

app(prog_name="procert")
