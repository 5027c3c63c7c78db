using System.Collections.Concurrent;
using Haetae.Login;
using Haetae.Platform.Store;
using Haetae.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Haetae.Integration.Tests;

/// <summary>Revocation through OpenIddict's manager on the replicated token store: it wins races, and it never fails silently.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class LoginRevocationTests(SharedClusterFixture fixture)
{
    [Fact]
    public async Task A_revocation_that_races_another_change_still_takes_effect()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var nats = await fixture.Cluster.ConnectAsync();
        await using var services = Services(new NatsJSContext(nats), new CapturedLogs());
        var tokens = services.GetRequiredService<IOpenIddictTokenManager>();
        var token = (LoginToken)await tokens.CreateAsync(NewRefreshToken(), ct);

        // Another site changes the entry after this copy was read: the copy's revision is stale.
        var elsewhere = (LoginToken)(await tokens.FindByIdAsync(token.Id!, ct))!;
        elsewhere.RedemptionDate = DateTimeOffset.UtcNow;
        await services.GetRequiredService<IOpenIddictTokenStore<LoginToken>>().UpdateAsync(elsewhere, ct);

        Assert.True(await tokens.TryRevokeAsync(token, ct));
        var stored = (LoginToken)(await tokens.FindByIdAsync(token.Id!, ct))!;
        Assert.Equal(Statuses.Revoked, stored.Status);
        Assert.NotNull(stored.RedemptionDate);
    }

    [Fact]
    public async Task A_revocation_that_cannot_be_stored_fails_loudly()
    {
        var ct = TestContext.Current.CancellationToken;
        var logs = new CapturedLogs();
        var nats = await fixture.Cluster.ConnectAsync();
        await using var services = Services(new NatsJSContext(nats), logs);
        var tokens = services.GetRequiredService<IOpenIddictTokenManager>();
        var token = (LoginToken)await tokens.CreateAsync(NewRefreshToken(), ct);

        // The store goes away under the node (its connection is gone for good).
        await nats.DisposeAsync();
        var failure = await Assert.ThrowsAsync<RevocationFailedException>(async () => await tokens.TryRevokeAsync(token, ct));
        Assert.Contains(token.Id!, failure.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains(token.Id!, StringComparison.Ordinal) && e.Message.Contains("stays valid", StringComparison.Ordinal));
    }

    private static OpenIddictTokenDescriptor NewRefreshToken() => new()
    {
        Type = TokenTypeHints.RefreshToken,
        Status = Statuses.Valid,
        Subject = "u0123456789abcdef0123",
        AuthorizationId = $"test.{Guid.NewGuid():N}",
        CreationDate = DateTimeOffset.UtcNow,
        ExpirationDate = DateTimeOffset.UtcNow.AddHours(1),
    };

    private static ServiceProvider Services(INatsJSContext js, CapturedLogs logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddSingleton(new Buckets(js));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TokenStore>();
        services.AddOpenIddict().AddCore(core => core.UseReplicatedStores());
        return services.BuildServiceProvider();
    }

    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
