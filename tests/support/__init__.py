"""What the tests share, in one place (``conftest.py`` holds the fixtures, and only them).

- ``server``: a Kring installation in a temporary folder, its CLI, ``kring serve`` on loopback,
  its metrics and the state of its end of a connection.
- ``databases``: a PostgreSQL database for a run, a store opened and closed, an account.
- ``people``: a demo conference on a live server, its people's devices, their HTTP clients;
  a coordinator account made on the command line, logged in.
- ``meeting``: a conference moved along: its phases, up to version 1 and the action team, and
  closed long ago (for the retention purge).
- ``live``: live documents and the console's event stream, opened and awaited.
- ``feeds``: a calendar app fetching a person's feed.
- ``plans``: a plan's content as plain data.
- ``traces``: words searched for in a server's database and its files, Yjs decoded.
- ``mail``: a real SMTP server on loopback (aiosmtpd) and what it received; an installation
  that mails to it.
- ``browser``: Debian's Chromium and what a person sees and does in it.

A test module imports its helpers from here, never from another test module, so that each
test file can move, split or go without breaking another.
"""
