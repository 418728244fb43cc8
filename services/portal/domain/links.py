"""Short-lived signed sign-in links and the browser sessions they open.

A link carries the principal, signed with the portal's secret and stamped
with its time (itsdangerous); it works for `link_ttl_s`. Opening it sets a
session cookie signed the same way (another salt), valid for `session_ttl_s`.
A forged, altered or expired token is refused with its own code.
"""

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .principals import Principal

_LINK, _SESSION = "portal-link", "portal-session"


class LinkError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Signer:
    def __init__(self, secret: str) -> None:
        self._link = URLSafeTimedSerializer(secret, salt=_LINK)
        self._session = URLSafeTimedSerializer(secret, salt=_SESSION)

    def link_token(self, principal: Principal) -> str:
        return self._link.dumps(principal.label)

    def session_token(self, principal: Principal) -> str:
        return self._session.dumps(principal.label)

    def principal_of_link(self, token: str, max_age_s: int) -> Principal:
        return _read(self._link, token, max_age_s, "link")

    def principal_of_session(self, token: str, max_age_s: int) -> Principal:
        return _read(self._session, token, max_age_s, "session")


def _read(serializer: URLSafeTimedSerializer, token: str, max_age_s: int, what: str) -> Principal:
    try:
        label = serializer.loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise LinkError(f"{what}_expired", f"this sign-in {what} has expired; ask for a new one") from None
    except BadSignature:
        raise LinkError(f"{what}_invalid", f"this sign-in {what} is not valid") from None
    try:
        return Principal.parse(label)
    except (ValueError, TypeError):
        raise LinkError(f"{what}_invalid", f"this sign-in {what} is not valid") from None
