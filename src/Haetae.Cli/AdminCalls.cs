using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Haetae.Contracts;
using Haetae.Platform.Monitoring;

namespace Haetae.Cli;

/// <summary>The operator's calls to a node's admin API, with the admin key from the platform's secrets file, at the first site that answers.</summary>
internal static class AdminCalls
{
    /// <summary>Sends one admin call to the first site of the running platform that answers.</summary>
    public static async Task<T?> CallAsync<T>(string home, HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var root = HaetaeCommand.LocalRoot(home);
        var reply = await ControlClient.SendAsync(Path.Combine(root, "control.sock"), new ControlRequest("describe"), cancellationToken);
        var secrets = await HaetaeCommand.LoadSecretsAsync(root, cancellationToken)
            ?? throw new PlatformException($"no secrets file in {root}; start the platform with ./haetae up");
        var failures = new List<string>();
        foreach (var site in reply.Platform!.Sites.Where(s => s.State == SiteState.Running))
        {
            using var http = new HttpClient { BaseAddress = site.Spec.NodeUri, Timeout = TimeSpan.FromSeconds(20) };
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body, options: HaetaeJson.Readable) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secrets.AdminKey);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{site.Spec.Name}: {e.Message}");
                continue;
            }

            using (response)
            {
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{site.Spec.Name}: HTTP {(int)response.StatusCode}");
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                    var detail = problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var d) ? d.GetString() : response.ReasonPhrase;
                    throw new PlatformException($"refused ({(int)response.StatusCode}): {detail}");
                }

                return response.Content.Headers.ContentLength == 0 ? default : await response.Content.ReadFromJsonAsync<T>(HaetaeJson.Readable, cancellationToken);
            }
        }

        throw new PlatformException($"no site answered: {string.Join("; ", failures)}");
    }
}
