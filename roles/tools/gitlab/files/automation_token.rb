# Dockyard (roles/tools/gitlab): give root a fresh automation token for `invoke seed`.
# Run as `gitlab-rails runner -e production THIS_FILE` with, in the environment:
#   DOCKYARD_TOKEN         the token value (20 characters), chosen by Dockyard and kept in its vault
#   DOCKYARD_TOKEN_NAME    the token's name (Dockyard owns every token of that name)
#   DOCKYARD_TOKEN_SCOPES  comma-separated scopes
#   DOCKYARD_TOKEN_DAYS    lifetime in days
# Earlier tokens of the same name are revoked, so only the newest works.
user = User.find_by_username('root')
raise 'dockyard: no root user' unless user

name = ENV.fetch('DOCKYARD_TOKEN_NAME')
user.personal_access_tokens.active.where(name: name).each(&:revoke!)
token = user.personal_access_tokens.create(
  scopes: ENV.fetch('DOCKYARD_TOKEN_SCOPES').split(','),
  name: name,
  expires_at: ENV.fetch('DOCKYARD_TOKEN_DAYS').to_i.days.from_now
)
token.set_token(ENV.fetch('DOCKYARD_TOKEN'))
token.save!
puts "dockyard: token #{name} created"
