"""`gridcare token create --user NAME` prints a new API token once; `revoke --prefix P` ends one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.org.models import ApiToken, User
from gridcare.org.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user and print it once")
        create.add_argument("--user", required=True, help="username")
        create.add_argument("--name", default="", help="what the token is for")
        lst = sub.add_parser("list", help="list a user's tokens")
        lst.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("--prefix", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "revoke":
            token = ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True).first()
            if token is None:
                raise CommandError(f"no active token with prefix {options['prefix']!r}")
            token_revoke(token=token, actor="cli")
            self.stdout.write(f"revoked {token.prefix}…")
            return
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user named {options['user']!r}; see the admin or `gridcare demo-logins`")
        if action == "list":
            for t in user.api_tokens.order_by("created_at"):
                state = "revoked" if t.revoked_at else "active"
                self.stdout.write(f"{t.prefix}…  {state}  {t.name}  created {t.created_at:%Y-%m-%d %H:%M}")
            return
        _, raw = token_create(user=user, name=options["name"], actor="cli")
        self.stderr.write(f"token for {user.username} (shown once; send as 'Authorization: Bearer <token>'):")
        self.stdout.write(raw)
