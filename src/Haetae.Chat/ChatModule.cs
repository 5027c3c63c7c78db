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
        .. Contracts.Assets.ChatStreams,
        .. Contracts.Assets.Buckets.Where(b => b.Bucket is Contracts.Assets.SocialBucket or Contracts.Assets.ChatsBucket),
        .. Contracts.Assets.ObjectStores.Where(o => o.Bucket == Contracts.Assets.MediaStore),
    ];

    public void AddServices(IServiceCollection services, IConfiguration configuration) => services.AddChat();

    public void MapEndpoints(IEndpointRouteBuilder app) => app.MapChatApi();
}
