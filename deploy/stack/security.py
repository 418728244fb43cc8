"""A broker that authenticates: SASL (SCRAM-SHA-512) on TLS, ACLs enforced, one principal per service.

With `BILLING_STACK_KAFKA_SECURITY=SASL_SSL` (or `SASL_PLAINTEXT`) the broker's
client listener takes only SCRAM logins. The credentials of `admin` (the super
user) and of each service principal are created when the storage is formatted
(`kafka-storage format --add-scram`); their passwords are random, kept in
`<stack>/kafka/secrets/<principal>` (mode 600) next to the data they belong
to. TLS material is made once with the JDK's `keytool`: a throw-away CA, the
broker's key store, and `ca.pem` that clients trust. The StandardAuthorizer
refuses whatever no ACL allows; the stack creates the services' ACLs from
`deploy.security.kafka_acls` after start.

The KRaft controller listener (127.0.0.1) cannot check SCRAM logins, whose
credentials live in the metadata it serves: it takes SASL PLAIN with the
admin as its only user, and the broker logs in to it as the admin. Nobody
is anonymous anywhere. A production cluster also puts TLS on it.
"""

import secrets
import shutil
import subprocess
from pathlib import Path

from shared.settings import KafkaSettings

from .process import StackError
from .settings import StackSettings

MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"


def principals() -> list[str]:
    from deploy.security.kafka_acls import SERVICES, TOOLS

    return [ADMIN, *SERVICES, *TOOLS]


def enabled(s: StackSettings) -> bool:
    return s.kafka_security != "PLAINTEXT"


def uses_tls(s: StackSettings) -> bool:
    return s.kafka_security == "SASL_SSL"


def _secrets(s: StackSettings) -> Path:
    return s.dir / "kafka" / "secrets"


def _secret(path: Path) -> str:
    """The secret in `path`, made (random, readable by its owner only) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        path.touch(0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def password(s: StackSettings, principal: str) -> str:
    return _secret(_secrets(s) / principal)


def ca_file(s: StackSettings) -> Path:
    return s.dir / "kafka" / "tls" / "ca.pem"


def _keystore(s: StackSettings) -> Path:
    return s.dir / "kafka" / "tls" / "broker.p12"


def _keytool(s: StackSettings) -> str:
    java = shutil.which(s.java)
    candidates = [str(Path(java).resolve().parent / "keytool")] if java else []
    found = next((c for c in candidates if Path(c).exists()), None) or shutil.which("keytool")
    if found is None:
        raise StackError("keytool (part of every JDK) was not found next to java; it makes the "
                         "broker's TLS certificate. Set BILLING_STACK_JAVA to a full JDK 17+.")
    return found


def ensure_tls(s: StackSettings) -> None:
    """A CA and a broker certificate for 127.0.0.1/localhost that it signed, made once."""
    store, ca = _keystore(s), ca_file(s)
    if store.exists() and ca.exists() and (_secrets(s) / "keystore").exists():
        return
    folder = store.parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    folder.chmod(0o700)
    pw = _secret(_secrets(s) / "keystore")
    kt = _keytool(s)
    key = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3650", "-storetype", "PKCS12"]
    steps = [
        [kt, "-genkeypair", "-alias", "ca", "-dname", "CN=billing local CA", "-ext", "bc:c", *key,
         "-keystore", "ca.p12", "-storepass", pw],
        [kt, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-storepass", pw, "-file", "ca.pem"],
        [kt, "-genkeypair", "-alias", "broker", "-dname", "CN=localhost", *key,
         "-keystore", "broker.p12", "-storepass", pw],
        [kt, "-certreq", "-alias", "broker", "-keystore", "broker.p12", "-storepass", pw,
         "-file", "broker.csr"],
        [kt, "-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-storepass", pw,
         "-infile", "broker.csr", "-outfile", "broker.pem", "-validity", "3650",
         "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-ext", "EKU=serverAuth"],
        [kt, "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "broker.p12",
         "-storepass", pw],
        [kt, "-importcert", "-noprompt", "-alias", "broker", "-file", "broker.pem",
         "-keystore", "broker.p12", "-storepass", pw],
    ]
    for step in steps:
        result = subprocess.run(step, cwd=folder, capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise StackError(f"keytool {step[1]} failed: {(result.stdout + result.stderr).strip()[-800:]}")
    (folder / "ca.p12").unlink()


def controller_protocol(s: StackSettings) -> str:
    return "SASL_PLAINTEXT" if enabled(s) else "PLAINTEXT"


def broker_properties(s: StackSettings) -> str:
    """The lines server.properties gets for the secured client listener."""
    if not enabled(s):
        return ""
    listener = s.kafka_security.lower()
    jaas = (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
            f'username="{ADMIN}" password="{password(s, ADMIN)}";')
    controller_jaas = (f'org.apache.kafka.common.security.plain.PlainLoginModule required '
                       f'username="{ADMIN}" password="{password(s, ADMIN)}" '
                       f'user_{ADMIN}="{password(s, ADMIN)}";')
    lines = [
        # The KRaft controller cannot check SCRAM (its credentials live in the metadata it serves):
        # its listener takes PLAIN, with the admin as its one user, which the broker logs in as.
        "sasl.mechanism.controller.protocol=PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={controller_jaas}",
        f"sasl.enabled.mechanisms={MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
        f"listener.name.{listener}.{MECHANISM.lower()}.sasl.jaas.config={jaas}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{ADMIN}",
        "allow.everyone.if.no.acl.found=false",
    ]
    if uses_tls(s):
        pw = password(s, "keystore")
        lines += [
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={_keystore(s)}",
            f"ssl.keystore.password={pw}",
            f"ssl.key.password={pw}",
            "ssl.truststore.type=PEM",  # the broker's own inter-broker client trusts the same CA
            f"ssl.truststore.location={ca_file(s)}",
            "ssl.client.auth=none",
            "ssl.endpoint.identification.algorithm=https",
            "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
        ]
    return "\n".join(lines) + "\n"


def format_args(s: StackSettings) -> list[str]:
    """StorageTool arguments that create every principal's SCRAM credential with the storage."""
    if not enabled(s):
        return []
    args: list[str] = []
    for principal in principals():
        args += ["--add-scram", f"{MECHANISM}=[name={principal},password={password(s, principal)}]"]
    return args


def client_settings(s: StackSettings, principal: str = ADMIN, pw: str | None = None) -> KafkaSettings:
    """How `principal` reaches the stack's broker (PLAINTEXT when the stack is not secured)."""
    if not enabled(s):
        return KafkaSettings(bootstrap_servers=s.kafka_bootstrap)
    return KafkaSettings(
        bootstrap_servers=s.kafka_bootstrap, security_protocol=s.kafka_security, sasl_mechanism=MECHANISM,
        sasl_username=principal, sasl_password=pw if pw is not None else password(s, principal),
        ssl_cafile=ca_file(s) if uses_tls(s) else None)


def client_env(s: StackSettings, principal: str) -> dict[str, str]:
    """`BILLING_KAFKA_*` variables that make a service log in as `principal`."""
    k = client_settings(s, principal)
    env = {"BILLING_KAFKA_BOOTSTRAP_SERVERS": k.bootstrap_servers,
           "BILLING_KAFKA_SECURITY_PROTOCOL": k.security_protocol}
    if enabled(s):
        assert k.sasl_username and k.sasl_password
        env.update({"BILLING_KAFKA_SASL_MECHANISM": k.sasl_mechanism,
                    "BILLING_KAFKA_SASL_USERNAME": k.sasl_username,
                    "BILLING_KAFKA_SASL_PASSWORD": k.sasl_password.get_secret_value()})
    if k.ssl_cafile:
        env["BILLING_KAFKA_SSL_CAFILE"] = str(k.ssl_cafile)
    return env
