"""The client side of Cognito's USER_SRP_AUTH, written from the spec (cognito-user-pools.md 5), for
the boto3 user-pool tests: boto3 has no SRP helper of its own (warrant and pycognito do this; they
are not Debian packages). Independent of tetherd's C++ SRP, so the two check each other; the
Node suite checks both against the real amazon-cognito-identity-js.

Also TOTP (RFC 6238, SHA-1, 30 s, 6 digits) and SECRET_HASH.
"""
import base64
import datetime
import hashlib
import hmac
import os
import struct

N_HEX = (
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD'
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED'
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F'
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B'
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510'
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7'
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C'
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF')
N = int(N_HEX, 16)
G = 2
DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']


def pad_hex(n):
    h = format(n, 'x')
    if len(h) % 2:
        h = '0' + h
    if h[0] in '89abcdef':
        h = '00' + h
    return h


def hex_hash(hex_str):
    return hashlib.sha256(bytes.fromhex(hex_str)).hexdigest()


K = int(hex_hash(pad_hex(N) + pad_hex(G)), 16)


def timestamp(when=None):
    """EEE MMM d HH:mm:ss UTC yyyy, day not zero-padded (spec 5.4 step 6)."""
    t = when or datetime.datetime.now(datetime.timezone.utc)
    return f'{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} {t:%H:%M:%S} UTC {t.year}'


class SrpClient:
    def __init__(self, pool_id):
        self.pool_name = pool_id.split('_', 1)[1]
        self.a = int.from_bytes(os.urandom(128), 'big')
        self.A = pow(G, self.a, N)

    @property
    def srp_a(self):
        return format(self.A, 'x')

    def signature(self, user_id, password, salt_hex, srp_b_hex, secret_block, ts):
        B = int(srp_b_hex, 16)
        u = int(hex_hash(pad_hex(self.A) + pad_hex(B)), 16)
        inner = hashlib.sha256(f'{self.pool_name}{user_id}:{password}'.encode()).hexdigest()
        x = int(hex_hash(pad_hex(int(salt_hex, 16)) + inner), 16)
        S = pow((B - K * pow(G, x, N)) % N, self.a + u * x, N)
        prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(S)), hashlib.sha256).digest()
        key = hmac.new(prk, b'Caldera Derived Key\x01', hashlib.sha256).digest()[:16]
        msg = self.pool_name.encode() + user_id.encode() + base64.b64decode(secret_block) + ts.encode()
        return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()

    def respond(self, params, password, ts=None):
        """ChallengeResponses for PASSWORD_VERIFIER from the challenge's parameters."""
        ts = ts or timestamp()
        user_id = params['USER_ID_FOR_SRP']
        return {
            'USERNAME': user_id,
            'PASSWORD_CLAIM_SECRET_BLOCK': params['SECRET_BLOCK'],
            'TIMESTAMP': ts,
            'PASSWORD_CLAIM_SIGNATURE': self.signature(user_id, password, params['SALT'], params['SRP_B'],
                                                       params['SECRET_BLOCK'], ts),
        }


def totp(secret_b32, at=None, step_offset=0):
    secret = base64.b32decode(secret_b32.upper() + '=' * (-len(secret_b32) % 8))
    import time
    counter = int((at if at is not None else time.time()) // 30) + step_offset
    mac = hmac.new(secret, struct.pack('>Q', counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return f'{code:06d}'


def secret_hash(client_secret, username, client_id):
    mac = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def jwt_claims(token):
    """The payload of a JWT, unverified (the tests verify signatures separately)."""
    import json
    seg = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(seg + '=' * (-len(seg) % 4)))


def jwt_header(token):
    import json
    seg = token.split('.')[0]
    return json.loads(base64.urlsafe_b64decode(seg + '=' * (-len(seg) % 4)))
