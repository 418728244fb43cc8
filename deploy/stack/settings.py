"""Where the local stack lives and which ports it takes."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    """The local stack's knobs, from `BILLING_STACK_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="BILLING_STACK_", extra="ignore")

    dir: Path = Field(PROJECT_ROOT / ".stack", description="Data, logs and pid files of the stack.")
    kafka_port: int = Field(9092, description="Kafka client listener on 127.0.0.1.")
    kafka_controller_port: int = Field(9093, description="KRaft controller listener on 127.0.0.1.")
    kafka_security: Literal["PLAINTEXT", "SASL_SSL", "SASL_PLAINTEXT"] = Field(
        "PLAINTEXT", description="The client listener's protocol; SASL_* adds SCRAM logins, one principal per "
        "service, and ACLs (deploy/stack/security.py).")
    kafka_brokers: int = Field(1, ge=1, le=5, description="KRaft nodes (broker and controller each); node n listens "
                               "on the two ports above + 2(n-1). Three give replication factor 3, two in sync.")
    kafka_heap: str = Field("768m", description="JVM heap of each broker (-Xms and -Xmx).")
    java: str = Field("java", description="The java executable (17 or newer).")
    mvn: str = Field("mvn", description="The Maven executable that resolves the broker's jars.")
    pg_port: int = Field(55432, description="PostgreSQL port on 127.0.0.1.")
    pg_database: str = Field("billing", description="The one database; each service owns a schema.")
    pg_user: str = Field("billing", description="The role the services log in as.")
    pg_password: SecretStr = Field(SecretStr("billing-local"), description="That role's password.")
    pg_bin: Path | None = Field(None, description="Folder of PostgreSQL's server binaries; found if unset.")
    pg_archive: bool = Field(True, description="Archive every WAL segment into the stack's backups folder "
                             "(point-in-time recovery with `billing-stack restore --to`).")
    pg_archive_timeout_s: int = Field(60, description="A WAL segment with writes in it is archived after at "
                                      "most this long (the recovery point objective of a lost server).")
    restore_window_days: float = Field(
        14.0, description="How far back a restore may go (base backups kept × their interval + time to notice, "
        "restore and catch up): the retention of the high-volume topics (deploy/stack/topics.py).")
    start_timeout_s: float = Field(90.0, description="How long start waits for each part to answer.")

    @field_validator("dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # psql and the server's socket folder need an absolute path, whatever the working directory.
        return value.resolve()

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.kafka_port + 2 * n}" for n in range(self.kafka_brokers))

    def pg_dsn(self) -> str:
        return (
            f"postgresql://{self.pg_user}:{self.pg_password.get_secret_value()}"
            f"@127.0.0.1:{self.pg_port}/{self.pg_database}"
        )
