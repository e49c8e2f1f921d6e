"""``lighthouse status create|list|remove``: the operator's public status pages.

The rules are MonitorService's (core/service/status_pages.py); this module parses the
command line and prints the answer through the admin CLI's plumbing
(lighthouse/admin_commands.py: settings, storage, errors as sentences, --owner, --json).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lighthouse.admin_cli import operator_language
from lighthouse.core.service.status_pages import status_page_url

if TYPE_CHECKING:
    from lighthouse.admin_commands import Admin
    from lighthouse.core.service.status_pages import StatusPage

EXIT_OK = 0


def register(sub: Any, lang: str | None = None) -> None:
    lang = lang or operator_language()
    translate: Callable[[str], str] = lambda message: message  # noqa: E731
    if lang != "en":  # the catalog only when it is needed, as lighthouse/admin_cli.py does
        from lighthouse.core.i18n import gettext

        translate = lambda message: gettext(lang, message)  # noqa: E731

    def _(message: str) -> str:
        return translate(message)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=_("print JSON for scripts"))
    common.add_argument("--owner", metavar="PROVIDER:ID",
                        help=_("act on this user's monitors (default: the operator's own)"))
    status = sub.add_parser("status", help=_("create, list, remove public status pages"))
    ss = status.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = ss.add_parser("create", parents=[common], help=_("publish monitors on a status page"))
    create.add_argument("monitors", nargs="*", metavar="MONITOR",
                        help=_("names or ids of the monitors to show (default: all of the owner's)"))
    create.add_argument("--slug", help=_("the page's address: 3 to 48 lowercase letters, digits "
                                         "or dashes (default: a random one nobody can guess)"))
    create.add_argument("--title", help=_("the page's heading"))
    create.set_defaults(handler=_dispatch(status_create))
    listing = ss.add_parser("list", parents=[common], help=_("list the owner's status pages"))
    listing.set_defaults(handler=_dispatch(status_list))
    remove = ss.add_parser("remove", parents=[common], help=_("remove a status page"))
    remove.add_argument("slug")
    remove.set_defaults(handler=_dispatch(status_remove))


def _dispatch(action: Callable[[Admin, argparse.Namespace], Any]
              ) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from lighthouse import admin_commands

        return admin_commands.run(args, action)

    return handler


def page_url(a: Admin, slug: str) -> str:
    base = a.settings.public_base_url or f"http://127.0.0.1:{a.settings.api_port}"
    return status_page_url(str(base), slug)


def _json(a: Admin, p: StatusPage) -> dict[str, Any]:
    return {"slug": p.slug, "title": p.title, "url": page_url(a, p.slug),
            "monitors": list(p.monitors), "created_at": p.created_at.isoformat()}


async def status_create(a: Admin, args: argparse.Namespace) -> int:
    from lighthouse.core.i18n import gettext

    page = await a.service.create_status_page(a.owner, slug=args.slug, title=args.title,
                                              monitors=list(args.monitors))
    if a.as_json:
        a.emit({"status_page": _json(a, page)})
    else:
        a.say(gettext(a.lang, "Status page “{title}” published at {url}").format(
            title=page.title, url=page_url(a, page.slug)))
    return EXIT_OK


async def status_list(a: Admin, args: argparse.Namespace) -> int:
    from lighthouse.core.i18n import gettext

    pages = await a.service.list_status_pages(a.owner)
    if a.as_json:
        a.emit({"status_pages": [_json(a, p) for p in pages]})
    elif not pages:
        a.say(gettext(a.lang, "No status pages yet. Publish one with: {command}").format(
            command="lighthouse status create"))
    else:
        for p in pages:
            a.say(f"{p.slug}  {page_url(a, p.slug)}  {p.title}")
    return EXIT_OK


async def status_remove(a: Admin, args: argparse.Namespace) -> int:
    from lighthouse.core.i18n import gettext

    await a.service.remove_status_page(a.owner, args.slug)
    if a.as_json:
        a.emit({"removed": args.slug})
    else:
        a.say(gettext(a.lang, "Status page {slug} removed.").format(slug=args.slug))
    return EXIT_OK
