# frozen_string_literal: true

require 'openssl'

# Returns the SCRAM-SHA-256 verifier PostgreSQL stores for a password
# (pg_authid.rolpassword, RFC 5802/7677), so that the clear text never
# reaches the server, a log or a command line. PostgreSQL accepts a
# pre-hashed verifier in CREATE/ALTER ROLE ... PASSWORD since 10.
#
# The salt is given by the caller so that the verifier (and the file that
# carries it) is stable from one Puppet run to the next.
Puppet::Functions.create_function(:'fuel::scram_sha256') do
  # @param password the clear-text password
  # @param salt at least 16 bytes of salt (any string; its bytes are used)
  # @param iterations PBKDF2 iterations (PostgreSQL's default is 4096)
  # @return [Sensitive[String]] SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>
  dispatch :verifier do
    param 'Sensitive[String[1]]', :password
    param 'String[16]', :salt
    optional_param 'Integer[4096]', :iterations
    return_type 'Sensitive[String]'
  end

  def verifier(password, salt, iterations = 4096)
    digest = OpenSSL::Digest.new('SHA256')
    salted = OpenSSL::PKCS5.pbkdf2_hmac(password.unwrap, salt, iterations, digest.digest_length, digest)
    client_key = OpenSSL::HMAC.digest(digest, salted, 'Client Key')
    server_key = OpenSSL::HMAC.digest(digest, salted, 'Server Key')
    stored_key = OpenSSL::Digest.digest('SHA256', client_key)
    # pack('m0') is strict Base64 (no base64 gem: not a default gem from Ruby 3.4 on)
    encoded = [salt, stored_key, server_key].map { |b| [b].pack('m0') }
    Puppet::Pops::Types::PSensitiveType::Sensitive.new(
      "SCRAM-SHA-256$#{iterations}:#{encoded[0]}$#{encoded[1]}:#{encoded[2]}",
    )
  end
end
