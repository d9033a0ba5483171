"""``python -m a3c_course.site build [--fresh] [--check]`` and ``python -m a3c_course.site check``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a3c_course.site",
                                     description="Build the course's website, or check it "
                                                 "in headless Chromium.")
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="execute the notebooks (cached) and build the site")
    build_parser.add_argument("--fresh", action="store_true",
                              help="forget the executed outputs and build from scratch")
    build_parser.add_argument("--check", action="store_true",
                              help="then check the built site in headless Chromium")
    sub.add_parser("check", help="check the built site in headless Chromium")
    args = parser.parse_args(argv)

    from .build import SiteError, build, site_root
    from ..profiles import current_profile

    try:
        if args.command == "build":
            index = build(fresh=args.fresh)
        else:
            index = site_root(current_profile()) / "html" / "index.html"
        if args.command == "check" or args.check:
            from .browser_check import check_site
            report = check_site(index.parent)
            print(report.summary())
            return 0 if report.ok else 1
    except (SiteError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
