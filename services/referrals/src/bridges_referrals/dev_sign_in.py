"""Development sign-in: choose a user from a file and get a token signed with the dev key, so the
tablet app can be tried without an identity provider. Development and test only; OpenID Connect
replaces it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import APIRouter
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from bridges_kit.auth import Subject, check_signing_key, mint_token
from bridges_kit.http import router
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import NotFound
from bridges_schema import Role

TOKEN_LIFETIME_S = 12 * 3600  # a shift (the kit's edge keeps every answer out of caches)


class DevUser(BaseModel):
    """Someone one may sign in as (what the users file says; other keys are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Subject
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    email: EmailStr | None = None
    agency_id: UUID | None = None
    agency_name: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _staff_have_an_agency(self) -> Self:
        if self.role is Role.AGENCY_STAFF and self.agency_id is None:
            raise ValueError("agency staff need an agency_id")
        return self


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user: Annotated[str, Field(min_length=1, max_length=128, description="a user's id")]


class SignedIn(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme, not a secret)
    expires_in: int = Field(description="seconds")
    user: DevUser


class UnknownDevUser(LookupError):
    """No user with that id in the development users file."""


class DevSignInMisconfigured(ValueError):
    """The users file or the key file cannot be used (said at start-up, not at the first sign-in)."""


@dataclass(frozen=True)
class DevSignIn:
    """The users one may sign in as and the key their tokens are signed with."""

    users: dict[str, DevUser]
    private_key_pem: str
    issuer: str
    audience: str

    @classmethod
    def load(cls, key_file: Path, users_file: Path, *, issuer: str, audience: str) -> DevSignIn:
        try:
            listed = TypeAdapter(list[DevUser]).validate_json(users_file.read_bytes())
        except (OSError, ValidationError) as exc:
            raise DevSignInMisconfigured(f"BRIDGES_DEV_SIGN_IN_USERS_FILE: {exc}") from None
        try:
            private_key_pem = key_file.read_text(encoding="utf-8")
            check_signing_key(private_key_pem)
        except (OSError, ValueError) as exc:
            raise DevSignInMisconfigured(f"BRIDGES_DEV_SIGN_IN_KEY_FILE: {exc}") from None
        users = {user.id: user for user in listed}
        if len(users) != len(listed):
            raise DevSignInMisconfigured("BRIDGES_DEV_SIGN_IN_USERS_FILE repeats a user id")
        return cls(users, private_key_pem, issuer, audience)

    def sign_in(self, user_id: str) -> SignedIn:
        user = self.users.get(user_id)
        if user is None:
            raise UnknownDevUser("no such user in the development users file")
        token = mint_token(
            self.private_key_pem,
            sub=user.id,
            role=user.role,
            agency_id=user.agency_id if user.role is Role.AGENCY_STAFF else None,
            email=user.email,
            name=user.name,
            ttl_s=TOKEN_LIFETIME_S,
            issuer=self.issuer,
            audience=self.audience,
        )
        return SignedIn(access_token=token, expires_in=TOKEN_LIFETIME_S, user=user)


def routes(dev: DevSignIn) -> APIRouter:
    """GET /dev/users and POST /dev/sign-in."""
    development = router(prefix="/dev", tags=["development"])

    @development.get("/users", summary="Who one may sign in as (development only)")
    async def list_users() -> list[DevUser]:
        return list(dev.users.values())

    @development.post(
        "/sign-in",
        summary="A token for one of those users (development only)",
        responses=problem_responses(NotFound),
    )
    async def sign_in(body: SignIn) -> SignedIn:
        return dev.sign_in(body.user)

    return development
