"""Users, roles and permissions — enforced here, in kb, for every caller (DESIGN §3).

SQLite mode: local accounts whose passwords are stored only as scrypt hashes. PostgreSQL mode:
the database login is the identity; it maps to the KB user of the same name for its role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model.enums import Role
from kb.model.orm import User
from kb.review.audit import record_event
from kb.review.passwords import MIN_PASSWORD, check_password, hash_password

__all__ = [
    "MIN_PASSWORD",
    "Actor",
    "AuthenticationError",
    "Permission",
    "PermissionDenied",
    "Role",
    "add_user",
    "authenticate",
    "bootstrap_admin",
    "can",
    "check_password",
    "hash_password",
    "require",
    "why_not",
]


class Permission(StrEnum):
    EDIT = "edit"
    APPROVE = "approve"
    RELEASE = "release"
    ADMIN = "admin"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CURATOR: frozenset({Permission.EDIT}),
    # Reviewers curate too; four-eyes is per change set (no one approves their own changes).
    Role.REVIEWER: frozenset({Permission.EDIT, Permission.APPROVE}),
    Role.RELEASE_MANAGER: frozenset({Permission.RELEASE}),
    Role.ADMIN: frozenset({Permission.ADMIN}),
}
_WHO = {
    Permission.EDIT: "curators and reviewers",
    Permission.APPROVE: "reviewers",
    Permission.RELEASE: "release managers",
    Permission.ADMIN: "admins",
}


class PermissionDenied(KbError):
    pass


class AuthenticationError(KbError):
    pass


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: plain data, checked by every kb operation that writes."""

    user_id: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    display_name: str
    role: Role
    active: bool
    local_password: bool


def can(actor: Actor, permission: Permission) -> bool:
    return permission in _GRANTS.get(actor.role, frozenset())


def why_not(actor: Actor, permission: Permission) -> str | None:
    """None if `actor` may; else a sentence saying why not (for refusals and tooltips)."""
    if can(actor, permission):
        return None
    return f"{actor.name} is a {actor.role.value}; only {_WHO[permission]} may {permission.value}"


def require(actor: Actor, permission: Permission) -> None:
    reason = why_not(actor, permission)
    if reason:
        raise PermissionDenied(reason)


def _enrol_key(session: Session, user: User, password: str | None, by: str) -> None:
    # Enrolment makes the user's approval key, sealed with their password (kb.review.esign).
    if password is not None:
        from kb.review.esign import enrol_signing_key

        enrol_signing_key(session, user=user, password=password, by=by)


def _actor(user: User) -> Actor:
    return Actor(user.id, user.name, user.role)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def bootstrap_admin(session: Session, *, name: str, password: str | None) -> Actor:
    """Create the first admin of a new KB (refused once any user exists)."""
    if session.scalar(select(func.count()).select_from(User)):
        raise KbError("the KB already has users; an admin adds more with `kb user add`")
    hashed = None if password is None and _postgres(session) else hash_password(password or "")
    user = User(name=name, display_name=name, role=Role.ADMIN, password_hash=hashed)
    session.add(user)
    session.flush()
    record_event(
        session, actor=name, action="user.bootstrap", subject=name, details={"role": "admin"}
    )
    _enrol_key(session, user, password, name)
    return _actor(user)


def add_user(
    session: Session,
    *,
    actor: Actor,
    name: str,
    role: Role,
    password: str | None,
    display_name: str | None = None,
) -> Actor:
    """An admin adds a user. On PostgreSQL a user without a password signs in by database login."""
    require(actor, Permission.ADMIN)
    name = name.strip()
    if not name or len(name) > 128:
        raise KbError("a user name needs 1 to 128 characters")
    if session.scalar(select(User.id).where(User.name == name)):
        raise KbError(f"user {name} already exists")
    if password is None and not _postgres(session):
        raise KbError(f"user {name} needs a password (SQLite KBs use local accounts)")
    user = User(
        name=name,
        display_name=display_name or name,
        role=Role(role),
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    record_event(
        session, actor=actor.name, action="user.add", subject=name, details={"role": role.value}
    )
    _enrol_key(session, user, password, actor.name)
    return _actor(user)


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).one_or_none()
    if user is None:
        raise KbError(f"no user {name}")
    return user


def set_password(session: Session, *, actor: Actor, name: str, password: str) -> None:
    """Users change their own password; admins anyone's. A new password seals a new approval
    key (the old one is retired, kept to verify what it signed): nobody who knew an earlier
    password can sign with the key the user holds from now on."""
    if actor.name != name:
        require(actor, Permission.ADMIN)
    user = _user(session, name)
    user.password_hash = hash_password(password)
    record_event(session, actor=actor.name, action="user.password", subject=name)
    _enrol_key(session, user, password, actor.name)


def set_role(session: Session, *, actor: Actor, name: str, role: Role) -> None:
    require(actor, Permission.ADMIN)
    user = _user(session, name)
    old = user.role
    user.role = Role(role)
    record_event(
        session,
        actor=actor.name,
        action="user.role",
        subject=name,
        details={"old": old.value, "new": user.role.value},
    )


def disable_user(session: Session, *, actor: Actor, name: str) -> None:
    require(actor, Permission.ADMIN)
    if actor.name == name:
        raise KbError("you cannot disable your own account")
    user = _user(session, name)
    user.active = False
    record_event(session, actor=actor.name, action="user.disable", subject=name)


def list_users(session: Session) -> list[UserRow]:
    return [
        UserRow(u.name, u.display_name, u.role, u.active, u.password_hash is not None)
        for u in session.scalars(select(User).order_by(User.name))
    ]


def authenticate(session: Session, *, name: str, password: str | None) -> Actor:
    """Sign in. SQLite: name + password. PostgreSQL: the session's database login is who you
    are (password None), mapped to the KB user of that name.

    A failed sign-in is written to the audit trail in a transaction of its own, so the
    caller's rollback cannot erase it.
    """
    if _postgres(session) and password is None:
        login = session.execute(text("SELECT current_user")).scalar_one()
        user = session.scalars(select(User).where(User.name == login)).one_or_none()
        if user is None or not user.active:
            _audit_failure(session, login, "no active KB user for this database login")
            raise AuthenticationError(
                f"database login {login} has no active KB user; an admin adds it with "
                f"`kb user add {login} --role …`"
            )
        return _actor(user)
    user = session.scalars(select(User).where(User.name == name)).one_or_none()
    valid = (
        user is not None
        and user.active
        and user.password_hash is not None
        and password is not None
        and check_password(password, user.password_hash)
    )
    if not valid:
        reason = (
            "unknown user" if user is None else "disabled" if not user.active else "bad password"
        )
        _audit_failure(session, name, reason)
        raise AuthenticationError(f"sign-in failed for {name}: wrong user name or password")
    assert user is not None
    return _actor(user)


def _audit_failure(session: Session, name: str, reason: str) -> None:
    engine = session.get_bind()
    with Session(bind=engine) as own, own.begin():
        record_event(
            own, actor=name, action="signin.failed", subject=name, details={"reason": reason}
        )
