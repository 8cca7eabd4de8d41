"""Allow ``python -m voxcli``."""

from voxcli.cli import main

if __name__ == "__main__":
    main()
