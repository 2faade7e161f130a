"""The service over TLS, with a certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from riskscore.config import Config, GeoConfig, ServerConfig
from riskscore.errors import ConfigError
from riskscore.service.server import create_server
from riskscore.v1 import risk_pb2, risk_pb2_grpc
from tests.service.harness import ServerThread


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def tls_config(tmp_path: Path, asn_db: Path, cert: Path, key: Path) -> Config:
    return Config(
        data_dir=tmp_path / "data",
        server=ServerConfig(
            grpc_address="127.0.0.1:0",
            metrics_address="",
            http_address="",
            tls_cert=cert,
            tls_key=key,
        ),
        geo=GeoConfig(asn_db=asn_db),
    ).validate()


def test_score_over_tls(tmp_path: Path, asn_db: Path) -> None:
    cert, key = self_signed(tmp_path)
    with ServerThread(tls_config(tmp_path, asn_db, cert, key)) as service:
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"localhost:{service.port}", creds) as channel:
            resp = risk_pb2_grpc.RiskServiceStub(channel).Score(
                risk_pb2.ScoreRequest(
                    pool_id="tls", username="u", event_type=risk_pb2.SIGN_IN, ip_address="::1"
                ),
                timeout=10,
            )
        assert resp.event_id
        # A plaintext client cannot talk to it.
        with (
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as plain,
            pytest.raises(grpc.RpcError),
        ):
            risk_pb2_grpc.RiskServiceStub(plain).Score(
                risk_pb2.ScoreRequest(
                    pool_id="tls",
                    username="u",
                    event_type=risk_pb2.SIGN_IN,
                    ip_address="::1",
                ),
                timeout=3,
            )


def test_a_non_pem_key_is_refused_naming_the_key(tmp_path: Path, asn_db: Path) -> None:
    cert, _ = self_signed(tmp_path)
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a key")
    with pytest.raises(ConfigError) as err:
        create_server(tls_config(tmp_path, asn_db, cert, bogus))
    assert err.value.key == "server.tls_key"
