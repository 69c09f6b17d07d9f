from minorguard.cli import run

run()
