"""The project's child processes: the supervisor that starts and always reaps them, and a
distribution's topology started under it (`streaming demo`, `streaming experiment`).

Imported by the CLI, the experiment runner, the tests and `bench/`; imports only `streaming`.
"""
