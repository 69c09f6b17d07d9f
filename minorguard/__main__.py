from minorguard.launch import run

run()
