from axis.cli.main import app

app(prog_name="axis")
