import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory.secrets import (
    KIND_CATEGORY,
    contains_secret,
    find_secrets,
    iban_valid,
    luhn_valid,
    redact,
)

# (text, kind, the secret itself): redact must remove the secret and leave the rest readable.
POSITIVES = [
    ("my key is sk-proj-abcDEF1234567890abcdefGHIJ ok", "openai_key", "sk-proj-abcDEF1234567890"),
    ("use sk-abcdefghijklmnopqrstuvwxyz123456 please", "openai_key", "sk-abcdefghijklmnop"),
    ("aws id AKIAIOSFODNN7EXAMPLE here", "aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("push with ghp_" + "a1B2" * 9, "github_token", "ghp_a1B2a1B2"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_token", "github_pat_11ABC"),
    ("slack xoxb-123456789012-abcdefghijkl bot", "slack_token", "xoxb-123456789012"),
    ("maps AIzaSyA1234567890abcdefghijklmnopqrstuv key", "google_api_key", "AIzaSyA12345"),
    ("Authorization: Bearer abcdef1234567890ABCDEF.xyz", "bearer_token", "abcdef1234567890"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
        "jwt",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
        "private_key",
        "MIIEowIBAAKCAQEA",
    ),
    (
        "pasted -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk (truncated",
        "private_key",
        "b3BlbnNzaC1rZXk",
    ),
    ("my api key for prod is 9f8a7b6c5d4e3f2a1b0c", "generic_secret", "9f8a7b6c5d4e3f2a1b0c"),
    ('{"client_secret": "Zx81kLm02PqR77sTu9vW"}', "generic_secret", "Zx81kLm02PqR77sTu9vW"),
    ("my password is hunter2.", "password", "hunter2"),
    ("password: Tr0ub4dor&3", "password", "Tr0ub4dor&3"),
    ("login with pwd=s3cret! tomorrow", "password", "s3cret!"),
    ("the passcode is 'open sesame'", "password", "open sesame"),
    ("my password for the bank is Blue-Sky-42", "password", "Blue-Sky-42"),
    ("the pin is 4821", "password", "4821"),
    ("pay with 4111 1111 1111 1111 exp 12/26", "card_number", "4111 1111 1111 1111"),
    ("card 5555-5555-5555-4444", "card_number", "5555-5555-5555-4444"),
    ("amex 378282246310005.", "card_number", "378282246310005"),
    ("SSN 123-45-6789", "ssn", "123-45-6789"),
    ("it is 219 09 9999 on the form", "ssn", "219 09 9999"),
    ("NI number AB 12 34 56 C", "uk_ni_number", "AB 12 34 56 C"),
    ("ni: ab123456c", "uk_ni_number", "ab123456c"),
    ("my passport number is X12345678 and I travel", "national_id", "X12345678"),
    ("my social security number is 123456789", "national_id", "123456789"),
    ("National ID: 8001015009087", "national_id", "8001015009087"),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
    ("send to DE89370400440532013000.", "iban", "DE89370400440532013000"),
]

NEGATIVES = [
    "card 4111-1111-1111-1112",  # fails Luhn
    "order 1234567812345678",  # 16 digits, not Luhn-valid
    "order id 1234567890123456",  # Luhn-valid but no issuer starts with 1
    "all zeros 0000 0000 0000 0000",
    "call +1 415-555-2671 or 020 7946 0958",
    "call +44 20 7946 0958 1234",
    "on 2024-01-15 at 12:30, see you 15/01/2024",
    "I need a password reset",
    "The password is required and the password is case-sensitive",
    "passwords are stored hashed",
    "the pin is located under the lid",
    "the token expired yesterday",
    "read the tokenization guide at docs/tokenization-guide-v2",
    "the secret to good bread is time",
    "ssn-like but invalid: 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567",
    "sketch-artist-portfolio-images",
    "IBAN GB83WEST12345698765432",  # mod-97 fails
    "ask-me-anything-about-my-1234-plans",
    "I met him at the QQ 12 34 56 A meeting",  # Q is never an NI prefix
    "my SSN is not something I share",
]


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_detects(text, kind, secret):
    matches = find_secrets(text)
    assert [m.kind for m in matches] == [kind]
    assert contains_secret(text)
    redacted, kinds = redact(text)
    assert kinds == [kind]
    assert f"[REDACTED:{kind}]" in redacted
    assert secret not in redacted


@pytest.mark.parametrize("text", NEGATIVES)
def test_leaves_near_misses_alone(text):
    assert find_secrets(text) == []
    assert not contains_secret(text)
    assert redact(text) == (text, [])


def test_redact_keeps_surrounding_text():
    text = "I'm vegetarian; my password is hunter2 and I run marathons."
    assert redact(text) == (
        "I'm vegetarian; my password is [REDACTED:password] and I run marathons.",
        ["password"],
    )


def test_several_secrets_in_order():
    text = "key sk-abcdefghijklmnopqrstuvwxyz123456, card 4111111111111111, SSN 123-45-6789"
    redacted, kinds = redact(text)
    assert kinds == ["openai_key", "card_number", "ssn"]
    assert redacted == (
        "key [REDACTED:openai_key], card [REDACTED:card_number], SSN [REDACTED:ssn]"
    )


def test_overlapping_detections_merge_into_the_most_specific_kind():
    # Both the keyword rule and the OpenAI rule fire; one placeholder, the specific kind.
    text = "api_key: sk-proj-abcDEF1234567890abcdefGHIJ"
    assert redact(text) == ("api_key: [REDACTED:openai_key]", ["openai_key"])


def test_redact_is_idempotent():
    for text, _, _ in POSITIVES:
        once, _ = redact(text)
        assert redact(once) == (once, [])


def test_match_offsets_point_at_the_secret():
    text = "pin: 4821"
    [m] = find_secrets(text)
    assert text[m.start : m.end] == "4821"


def test_every_kind_has_a_category():
    kinds = {kind for _, kind, _ in POSITIVES}
    assert kinds <= set(KIND_CATEGORY)
    assert set(KIND_CATEGORY.values()) == {"api_key", "password", "financial", "national_id"}


def test_checksums():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not iban_valid("GB82")


def _luhn_check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("unreachable")


@given(st.sampled_from("23456"), st.text("0123456789", min_size=14, max_size=14))
def test_any_luhn_valid_card_is_found(first, rest):
    body = first + rest
    number = body + _luhn_check_digit(body)
    if len(set(number)) == 1:
        return
    grouped = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    for form in (number, grouped):
        text = f"my card is {form} thanks"
        redacted, kinds = redact(text)
        assert kinds == ["card_number"]
        assert form not in redacted


@given(st.sampled_from("23456"), st.text("0123456789", min_size=14, max_size=14))
def test_luhn_invalid_numbers_are_not_cards(first, rest):
    body = first + rest
    good = _luhn_check_digit(body)
    bad = str((int(good) + 1) % 10)
    assert not contains_secret(f"order {body + bad} shipped")
