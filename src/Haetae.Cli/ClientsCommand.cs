using System.CommandLine;
using System.Text.Json;
using Haetae.Contracts;

namespace Haetae.Cli;

/// <summary>
/// `haetae clients` and `haetae scopes`: register third-party apps and their API scopes with the login
/// provider of the running local platform, through any site's admin API, with the operator's admin key
/// (kept in the platform's secrets file, readable by its owner only).
/// </summary>
internal static class ClientsCommand
{

    public static IEnumerable<Command> Create(Option<string> home, TextWriter output, TextWriter error, CancellationToken stopping)
    {
        var clientId = new Argument<string>("client-id") { Description = "The app's client id: 3 to 64 of a-z, 0-9 and '-'" };
        var name = new Option<string>("--name") { Description = "Shown to people on the consent page", Required = true };
        var redirect = new Option<string[]>("--redirect-uri") { Description = "Where codes may be sent (https, or http to a loopback address); repeat for more", AllowMultipleArgumentsPerToken = false };
        var postLogout = new Option<string[]>("--post-logout-redirect-uri") { Description = "Where people may be sent after signing out; repeat for more" };
        var isPublic = new Option<bool>("--public") { Description = "A phone or browser app: no secret, PKCE only" };
        var scope = new Option<string[]>("--scope") { Description = "An API scope it may ask for (registered with `haetae scopes register`); repeat for more" };
        var credentials = new Option<bool>("--client-credentials") { Description = "It may get tokens for itself (a service); confidential apps only" };
        var skipConsent = new Option<bool>("--skip-consent") { Description = "A first-party app: no consent page" };

        var register = new Command("register", "Register an app, or change one (a confidential app gets a new secret, printed once)")
        {
            clientId, name, redirect, postLogout, isPublic, scope, credentials, skipConsent,
        };
        register.SetAction(parse => GuardAsync(error, stopping, async () =>
        {
            var registration = new ClientRegistration(
                parse.GetValue(name), parse.GetValue(redirect) ?? [], parse.GetValue(postLogout) ?? [], parse.GetValue(isPublic),
                parse.GetValue(scope) ?? [], parse.GetValue(credentials), SkipConsent: parse.GetValue(skipConsent));
            var view = await AdminCalls.CallAsync<ClientView>(parse.GetValue(home)!, HttpMethod.Put, $"/admin/clients/{Uri.EscapeDataString(parse.GetValue(clientId)!)}", registration, stopping);
            await output.WriteLineAsync(JsonSerializer.Serialize(view, HaetaeJson.Readable));
            if (view?.ClientSecret is not null)
            {
                await output.WriteLineAsync("The client secret is shown only now; the provider keeps only its hash.");
            }
        }));

        var list = new Command("list", "List the registered apps");
        list.SetAction(parse => GuardAsync(error, stopping, async () =>
            await output.WriteLineAsync(JsonSerializer.Serialize(await AdminCalls.CallAsync<List<ClientView>>(parse.GetValue(home)!, HttpMethod.Get, "/admin/clients", null, stopping), HaetaeJson.Readable))));

        var remove = new Command("remove", "Remove an app: its codes and tokens stop working") { clientId };
        remove.SetAction(parse => GuardAsync(error, stopping, async () =>
        {
            await AdminCalls.CallAsync<object>(parse.GetValue(home)!, HttpMethod.Delete, $"/admin/clients/{Uri.EscapeDataString(parse.GetValue(clientId)!)}", null, stopping);
            await output.WriteLineAsync($"removed {parse.GetValue(clientId)}");
        }));

        var scopeName = new Argument<string>("scope") { Description = "The scope's name, for example exchange.api" };
        var audience = new Option<string>("--audience") { Description = "The API that tokens with this scope are for (their \"aud\")", Required = true };
        var scopeDisplay = new Option<string?>("--name") { Description = "Shown on the consent page" };
        var registerScope = new Command("register", "Register an API scope, or change one") { scopeName, audience, scopeDisplay };
        registerScope.SetAction(parse => GuardAsync(error, stopping, async () =>
            await output.WriteLineAsync(JsonSerializer.Serialize(await AdminCalls.CallAsync<ScopeView>(
                parse.GetValue(home)!, HttpMethod.Put, $"/admin/scopes/{Uri.EscapeDataString(parse.GetValue(scopeName)!)}",
                new ScopeRegistration(parse.GetValue(scopeDisplay), parse.GetValue(audience)), stopping), HaetaeJson.Readable))));

        return
        [
            new Command("clients", "Third-party apps that sign their users in with Haetae") { register, list, remove },
            new Command("scopes", "API scopes third-party apps may ask for") { registerScope },
        ];
    }

    private static async Task<int> GuardAsync(TextWriter error, CancellationToken stopping, Func<Task> action) => await HaetaeCommand.GuardAsync(error, stopping, async () =>
    {
        await action();
        return 0;
    });
}
