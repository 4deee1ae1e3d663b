// A real OpenID Connect provider for the console's single sign-on tests: panva's
// oidc-provider (an OpenID Certified implementation), with its development login pages
// (any user name, any password) standing in for the agency's identity provider.
// node provider.mjs PORT REDIRECT_URI CLIENT_SECRET
import Provider from "oidc-provider";

const [port, redirectUri, clientSecret] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "axis-console",
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ["sub"], profile: ["preferred_username", "name"] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        // The login typed in the development page is the account: its user name too.
        return { sub: `sub-${id}`, preferred_username: id, name: id };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["axis-test-only"] },
});
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
