"""The project's child processes: the supervisor that starts and always reaps them.

Imported by the CLI, the experiment runner, the tests and `bench/`; imports only `streaming`.
"""
