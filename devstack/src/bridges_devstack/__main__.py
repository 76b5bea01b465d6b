"""`python -m bridges_devstack ...` is `bridges ...` (the ops image's entry point)."""

from bridges_devstack.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
