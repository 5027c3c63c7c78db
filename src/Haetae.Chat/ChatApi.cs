using Haetae.Contracts;
using Haetae.Platform;
using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
using Haetae.Platform.Realtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Chat;

/// <summary>Wires the chat service into a node: its services, authentication, and its HTTP API under /api.</summary>
public static partial class ChatApi
{
    public static IServiceCollection AddChat(this IServiceCollection services)
    {
        services.AddSingleton<Friends>();
        services.AddSingleton<Messages>();
        services.AddSingleton<Chats>();
        services.AddSingleton<Photos>();
        services.AddSingleton<Func<Chats>>(sp => sp.GetRequiredService<Chats>);
        services.AddSingleton<Profiles>();
        services.AddSingleton<ChatPeople>();
        services.AddSingleton<IPeople>(sp => sp.GetRequiredService<ChatPeople>());
        services.AddSingleton<IChatPosts>(sp => sp.GetRequiredService<ChatPeople>());
        services.AddSingleton<Func<Profiles>>(sp => sp.GetRequiredService<Profiles>);
        services.AddSingleton<ProfileFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<ProfileFeed>());
        services.AddSingleton<CursorWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CursorWriter>());
        services.AddSingleton(new DeviceHub<DeviceEvent>(DeviceSession.MaxPerUser));
        services.AddSingleton<ChatFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<ChatFeed>());
        services.AddHealthChecks().AddCheck<ChatFeed>("chat-feed", tags: [HostingDefaults.ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("chat").AddEndpointFilter(HostingDefaults.NoStoreAsync).ProducesStandardProblems();
        var user = api.MapGroup("").RequireAuthorization();
        api.MapGet("/limits", () => TypedResults.Ok(new Limits(
            AccountRules.MaxDisplayNameLength, AccountRules.MinPasswordLength, AccountRules.MaxPasswordLength, Profiles.MaxStatusLength, Profiles.MaxExtras,
            Chats.MaxTextBytes, Chats.MaxTitleLength, Chats.MaxMembers, Photos.MaxBytes, [.. Photos.ContentTypes.Order(StringComparer.Ordinal)])));

        user.MapGet("/users/{userId}", async (string userId, HttpContext http, Profiles profiles, CancellationToken ct) =>
            TypedResults.Ok(await profiles.ViewAsync(userId, Caller(http), ct) ?? throw ApiProblem.NotFound("no such user")));

        user.MapGet("/profiles", async (HttpContext http, Profiles profiles, CancellationToken ct) => TypedResults.Ok(await profiles.MineAsync(Caller(http), ct)));
        user.MapPut("/profiles/default", async (ProfileRequest request, HttpContext http, Profiles profiles, CancellationToken ct) =>
            TypedResults.Ok(await profiles.UpdateDefaultAsync(Caller(http), request, ct)));
        user.MapPost("/profiles", async (ProfileRequest request, HttpContext http, Profiles profiles, CancellationToken ct) =>
        {
            var created = await profiles.CreateAsync(Caller(http), request, RequestId(http.Request), ct);
            return TypedResults.Created($"/api/profiles/{created.Id}", created);
        });
        user.MapPut("/profiles/{profileId}", async (string profileId, ProfileRequest request, HttpContext http, Profiles profiles, CancellationToken ct) =>
            TypedResults.Ok(await profiles.UpdateAsync(Caller(http), profileId, request, ct)));
        user.MapDelete("/profiles/{profileId}", async (string profileId, HttpContext http, Profiles profiles, CancellationToken ct) =>
        {
            await profiles.DeleteAsync(Caller(http), profileId, ct);
            return TypedResults.NoContent();
        });
        user.MapPut("/profiles/{profileId}/friends/{friendId}", async (string profileId, string friendId, HttpContext http, Profiles profiles, CancellationToken ct) =>
        {
            await profiles.AssignAsync(Caller(http), profileId, friendId, ct);
            return TypedResults.NoContent();
        });
        user.MapDelete("/profiles/{profileId}/friends/{friendId}", async (string profileId, string friendId, HttpContext http, Profiles profiles, CancellationToken ct) =>
        {
            await profiles.UnassignAsync(Caller(http), profileId, friendId, ct);
            return TypedResults.NoContent();
        });

        user.MapGet("/friends", async (HttpContext http, Friends friends, CancellationToken ct) => TypedResults.Ok(await friends.ListAsync(Caller(http), ct)));
        user.MapPost("/friends", async (AddFriendRequest request, HttpContext http, Friends friends, CancellationToken ct) =>
            TypedResults.Ok(await friends.AddAsync(Caller(http), request, ct)));
        user.MapDelete("/friends/{userId}", async (string userId, HttpContext http, Friends friends, CancellationToken ct) =>
        {
            await friends.RemoveAsync(Caller(http), userId, ct);
            return TypedResults.NoContent();
        });
        user.MapPut("/blocks/{userId}", async (string userId, HttpContext http, Friends friends, CancellationToken ct) =>
        {
            await friends.BlockAsync(Caller(http), userId, ct);
            return TypedResults.NoContent();
        });
        user.MapDelete("/blocks/{userId}", async (string userId, HttpContext http, Friends friends, CancellationToken ct) =>
        {
            await friends.UnblockAsync(Caller(http), userId, ct);
            return TypedResults.NoContent();
        });

        user.MapGet("/chats", async (HttpContext http, Chats chats, CancellationToken ct) => TypedResults.Ok(await chats.ListAsync(Caller(http), ct)));
        user.MapPost("/chats", async (CreateChatRequest request, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.CreateAsync(Caller(http), request, RequestId(http.Request), ct)));
        user.MapGet("/chats/{chatId}", async (string chatId, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.GetAsync(Caller(http), chatId, ct)));
        user.MapPost("/chats/{chatId}/members", async (string chatId, InviteRequest request, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.InviteAsync(Caller(http), chatId, request, RequestId(http.Request), ct)));
        user.MapDelete("/chats/{chatId}/members/me", async (string chatId, HttpContext http, Chats chats, CancellationToken ct) =>
        {
            await chats.LeaveAsync(Caller(http), chatId, RequestId(http.Request), ct);
            return TypedResults.NoContent();
        });
        user.MapPost("/chats/{chatId}/messages", async (string chatId, SendMessageRequest request, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.SendAsync(Caller(http), chatId, request, RequestId(http.Request), ct)));
        user.MapGet("/chats/{chatId}/messages", async (string chatId, long? after, long? before, int? limit, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.HistoryAsync(Caller(http), chatId, after, before, limit, ct)));
        user.MapPost("/chats/{chatId}/read", async (string chatId, ReadRequest request, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.MarkReadAsync(Caller(http), chatId, request, ct)));
        user.MapGet("/chats/{chatId}/receipts", async (string chatId, HttpContext http, Chats chats, CancellationToken ct) =>
            TypedResults.Ok(await chats.ReceiptsAsync(Caller(http), chatId, ct)));

        user.Map("/realtime", async (HttpContext http, ChatFeed feed, Chats chats, Messages messages, DeviceHub<DeviceEvent> hub, CursorWriter cursors, HotCaches caches, Profiles profiles, IPlatformNotices notices, Traffic traffic, TimeProvider time) =>
        {
            if (!http.WebSockets.IsWebSocketRequest)
            {
                throw ApiProblem.BadRequest("this endpoint speaks WebSocket only");
            }

            var caller = Caller(http);
            var inbox = new DeviceQueue<DeviceEvent>(DeviceSession.MaxQueued);
            if (!hub.TryConnect(caller, inbox))
            {
                throw new ApiProblem(StatusCodes.Status429TooManyRequests, "Too many devices", $"at most {hub.MaxPerUser} connected devices per person and site");
            }

            try
            {
                var expires = long.TryParse(http.User.FindFirst("exp")?.Value, out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : time.GetUtcNow();
                using var webSocket = await http.WebSockets.AcceptWebSocketAsync();
                using var socket = new DeviceSocket(webSocket, caches, http.User.FindFirst(Accounts.SessionClaim)!.Value, expires - time.GetUtcNow(), http.RequestAborted);
                await new DeviceSession(caller, inbox, socket, feed, chats, messages, hub, cursors, profiles, notices, traffic).RunAsync();
            }
            finally
            {
                hub.Disconnect(caller, inbox);
            }
        });

        user.MapPost("/photos", async (HttpContext http, Photos photos, CancellationToken ct) =>
            TypedResults.Ok(await photos.UploadAsync(Caller(http), http.Request.ContentType, http.Request.Body, RequestId(http.Request), ct)));
        user.MapGet("/photos/{photoId}", async (string photoId, HttpContext http, Photos photos, CancellationToken ct) =>
        {
            var (photo, bytes) = await photos.GetAsync(Caller(http), photoId, ct);
            return TypedResults.File(bytes, photo.ContentType);
        });
        return app;
    }

    private static string Caller(HttpContext http) => IdentityServices.CallerId(http);

    private static string RequestId(HttpRequest request) => RequestIds.Of(request);
}
