"""The load generator behind bench/load.py, by subject:

- servers.py   the servers under test: a throwaway Kring, the reference (@y/websocket-server)
- seed.py      rooms, cookies and typed documents a scenario starts from
- clients.py   the devices (y-websocket clients) and the tally of what they sent and received
- measure.py   CPU and memory over a window, the generator's own load, tables
- report.py    the rows every delivery scenario prints
- meeting.py   scenarios rooms, fanout, storm
- step.py      scenarios step, burst
- coldjoin.py  scenario coldjoin
- idle.py      scenario idle
- heavy.py     scenario heavy (Kring only): the meeting plain, then beside heavy work
- heavyjobs.py the heavy work: outcomes page, PDF copies, exports, erasure, purge, backup
- loopwatch.py the server's event-loop lag: its histogram, its log, a ping probe
- compare.py   Kring against the reference: ratios and issue 20's targets
- cli.py       the command line and the run
"""
