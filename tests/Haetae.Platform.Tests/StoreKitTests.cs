using Haetae.Chat;
using Haetae.Contracts;
using Haetae.Modules;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Store;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Haetae.Platform.Tests;

/// <summary>The store kit's rules, without a cluster: what is an outage, how retries end, how ids are derived.</summary>
public sealed class StoreKitTests
{
    [Fact]
    public void Outages_are_transient_and_answers_are_not()
    {
        Assert.True(StoreFailures.IsTransient(new NatsNoRespondersException()));
        Assert.True(StoreFailures.IsTransient(new TimeoutException()));
        Assert.True(StoreFailures.IsTransient(new NatsJSApiException(new ApiError { Code = 503, ErrCode = 10008 })));
        Assert.True(StoreFailures.IsTransient(new NatsJSApiException(new ApiError { Code = 404, ErrCode = 10059 })));
        Assert.False(StoreFailures.IsTransient(new NatsJSApiException(new ApiError { Code = 400, ErrCode = ReplicatedPublisher.WrongLastSequence })));
        Assert.False(StoreFailures.IsTransient(new NatsKVCreateException()));
        Assert.False(StoreFailures.IsTransient(new NatsKVWrongLastRevisionException(new ApiError { Code = 400, ErrCode = 10071 })));
        Assert.False(StoreFailures.IsTransient(new InvalidOperationException()));
    }

    [Fact]
    public async Task A_conflict_is_retried_a_bounded_number_of_times_then_handed_back()
    {
        var attempts = 0;
        var outcome = await StoreRetry.Conflicts<int>(3).ExecuteAsync(_ =>
        {
            attempts++;
            return ValueTask.FromResult(Conflicted<int>.Lost);
        }, TestContext.Current.CancellationToken);

        Assert.True(outcome.Conflict);
        Assert.Equal(4, attempts);

        attempts = 0;
        var won = await StoreRetry.Conflicts<int>(3).ExecuteAsync(_ => ValueTask.FromResult(++attempts < 2 ? Conflicted<int>.Lost : Conflicted<int>.Done(7)), TestContext.Current.CancellationToken);
        Assert.Equal((7, false, 2), (won.Value, won.Conflict, attempts));
    }

    [Fact]
    public async Task A_store_call_waits_out_an_outage_but_not_an_answer()
    {
        var ct = TestContext.Current.CancellationToken;
        var calls = 0;
        var value = await StoreRetry.ThroughElectionAsync(async () =>
        {
            await Task.Yield();
            return ++calls < 3 ? throw new NatsNoRespondersException() : calls;
        }, ct);
        Assert.Equal(3, value);

        calls = 0;
        await Assert.ThrowsAsync<NatsKVWrongLastRevisionException>(() => StoreRetry.ThroughElectionAsync<int>(() =>
        {
            calls++;
            throw new NatsKVWrongLastRevisionException(new ApiError { Code = 400, ErrCode = 10071 });
        }, ct));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_watch_that_breaks_starts_again_until_its_owner_stops()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var runs = 0;
        var broken = 0;
        await ResilientWatch.RunAsync(
            ct =>
            {
                if (++runs == 3)
                {
                    stop.Cancel();
                    ct.ThrowIfCancellationRequested();
                }

                throw new NatsNoRespondersException();
            },
            stop.Token,
            _ => broken++);

        Assert.Equal(3, runs);
        Assert.Equal(2, broken);
    }

    [Fact]
    public void Derived_ids_are_stable_across_versions()
    {
        // These ids are stored: a retry after an upgrade must find what the first attempt made.
        Assert.Equal("u" + Sha256Hex("signup|r1|a@b.io")[..20], AccountRules.UserId("r1", "a@b.io"));
        Assert.Equal("d" + Sha256Hex("ua|ub")[..20], Chats.DirectChatId("ub", "ua"));
        Assert.Equal("g" + Sha256Hex("ua|r2")[..20], Chats.GroupChatId("ua", "r2"));
        Assert.Equal("login.email." + Sha256Hex("a@b.io"), AccountRules.LoginKey("email", "a@b.io").Name);
        Assert.True(RequestIds.IsValid("abc-_1"));
        Assert.False(RequestIds.IsValid("not valid!"));
        Assert.False(RequestIds.IsValid(new string('a', 65)));
    }

    private static string Sha256Hex(string text) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    [Fact]
    public void The_catalog_is_every_modules_assets_and_no_two_modules_may_keep_one_stream()
    {
        var catalog = PlatformModules.Catalog.All.Select(a => a.StreamName).ToList();
        Assert.Equal(PlatformModules.All.Sum(m => m.Assets.Count), catalog.Count);
        Assert.Equal(catalog.Count, catalog.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("KV_" + Assets.ConsoleBucket, catalog);
        Assert.Contains(Assets.ChatStream(Assets.ChatShards - 1), catalog);

        var refused = Assert.Throws<InvalidOperationException>(() => AssetCatalog.Of([new IdentityModule(), new IdentityModule()]));
        Assert.Contains("KV_" + Assets.AccountsBucket, refused.Message);
    }
}
