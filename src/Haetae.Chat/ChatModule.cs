using Haetae.Contracts;
using Haetae.Platform;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Haetae.Chat;

/// <summary>Chats, messages, friends, profiles and photos, with live delivery to every device.</summary>
public sealed class ChatModule : IHaetaeModule
{
    public string Name => "chat";

    public IReadOnlyList<Asset> Assets { get; } =
    [
        .. Enumerable.Range(0, Contracts.Assets.ChatShards).Select(s => new StreamAsset(Contracts.Assets.ChatStream(s), [$"chat.{s:D2}.>", $"members.{s:D2}.>"])),
        new KvAsset(Contracts.Assets.SocialBucket, History: 1),
        new KvAsset(Contracts.Assets.ChatsBucket, History: 1),
        new ObjectStoreAsset(Contracts.Assets.MediaStore),
    ];

    public IReadOnlyList<ServiceSurface> Surfaces { get; } =
    [
        new("chat", "Chat", "채팅", ["/api/chats", "/api/photos", "/api/realtime", "/api/limits"],
            [.. Enumerable.Range(0, Contracts.Assets.ChatShards).Select(Contracts.Assets.ChatStream), "KV_" + Contracts.Assets.ChatsBucket, "OBJ_" + Contracts.Assets.MediaStore]),
        new("profiles", "Profiles and friends", "프로필과 친구", ["/api/profiles", "/api/friends", "/api/blocks", "/api/users"],
            ["KV_" + Contracts.Assets.SocialBucket, "KV_" + Contracts.Assets.AccountsBucket, "OBJ_" + Contracts.Assets.MediaStore]),
    ];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddChat();

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapChatApi();
}
