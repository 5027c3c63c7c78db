using Haetae.Contracts;

namespace Haetae.Client;

/// <summary>Friends and blocks, through the client's failover transport.</summary>
public sealed class FriendsClient
{
    private readonly HaetaeClient _client;

    internal FriendsClient(HaetaeClient client) => _client = client;

    public Task<FriendsView> ListAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<FriendsView>(HttpMethod.Get, "api/friends", null, null, cancellationToken);

    public Task<UserView> AddAsync(AddFriendRequest request, CancellationToken cancellationToken = default) =>
        _client.SendAsync<UserView>(HttpMethod.Post, "api/friends", request, null, cancellationToken);

    public Task RemoveAsync(string userId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Delete, $"api/friends/{Uri.EscapeDataString(userId)}", null, null, cancellationToken);

    public Task BlockAsync(string userId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Put, $"api/blocks/{Uri.EscapeDataString(userId)}", null, null, cancellationToken);

    public Task UnblockAsync(string userId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Delete, $"api/blocks/{Uri.EscapeDataString(userId)}", null, null, cancellationToken);
}

/// <summary>Profiles (multi-profile): mine, and how another user appears to me.</summary>
public sealed class ProfilesClient
{
    private readonly HaetaeClient _client;

    internal ProfilesClient(HaetaeClient client) => _client = client;

    /// <summary>How another user appears to the caller (the profile that user shows the caller).</summary>
    public Task<UserView> GetUserAsync(string userId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<UserView>(HttpMethod.Get, $"api/users/{Uri.EscapeDataString(userId)}", null, null, cancellationToken);

    public Task<ProfilesView> MineAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProfilesView>(HttpMethod.Get, "api/profiles", null, null, cancellationToken);

    public Task<ProfileView> UpdateDefaultAsync(ProfileRequest request, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProfileView>(HttpMethod.Put, "api/profiles/default", request, null, cancellationToken);

    public Task<ProfileView> CreateAsync(ProfileRequest request, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProfileView>(HttpMethod.Post, "api/profiles", request, requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<ProfileView> UpdateAsync(string profileId, ProfileRequest request, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProfileView>(HttpMethod.Put, $"api/profiles/{Uri.EscapeDataString(profileId)}", request, null, cancellationToken);

    public Task DeleteAsync(string profileId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Delete, $"api/profiles/{Uri.EscapeDataString(profileId)}", null, null, cancellationToken);

    /// <summary>Shows <paramref name="profileId"/> to a friend, moving them from any other; "default" moves them back.</summary>
    public Task AssignAsync(string profileId, string friendId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Put, $"api/profiles/{Uri.EscapeDataString(profileId)}/friends/{Uri.EscapeDataString(friendId)}", null, null, cancellationToken);

    public Task UnassignAsync(string profileId, string friendId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Delete, $"api/profiles/{Uri.EscapeDataString(profileId)}/friends/{Uri.EscapeDataString(friendId)}", null, null, cancellationToken);
}

/// <summary>Chats and their messages; every write carries a request id that stays the same across retries and sites.</summary>
public sealed class ChatClient
{
    private readonly HaetaeClient _client;

    internal ChatClient(HaetaeClient client) => _client = client;

    public Task<ChatView> CreateAsync(IReadOnlyList<string> memberIds, string? title = null, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChatView>(HttpMethod.Post, "api/chats", new CreateChatRequest(memberIds, title), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<IReadOnlyList<ChatView>> ListAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<ChatView>>(HttpMethod.Get, "api/chats", null, null, cancellationToken);

    public Task<ChatView> GetAsync(string chatId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChatView>(HttpMethod.Get, $"api/chats/{Uri.EscapeDataString(chatId)}", null, null, cancellationToken);

    public Task<ChatView> InviteAsync(string chatId, IReadOnlyList<string> userIds, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChatView>(HttpMethod.Post, $"api/chats/{Uri.EscapeDataString(chatId)}/members", new InviteRequest(userIds), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task LeaveAsync(string chatId, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<object>(HttpMethod.Delete, $"api/chats/{Uri.EscapeDataString(chatId)}/members/me", null, requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<MessageView> SendTextAsync(string chatId, string text, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<MessageView>(HttpMethod.Post, $"api/chats/{Uri.EscapeDataString(chatId)}/messages", new SendMessageRequest(text, null), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<MessageView> SendPhotoAsync(string chatId, string photoId, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<MessageView>(HttpMethod.Post, $"api/chats/{Uri.EscapeDataString(chatId)}/messages", new SendMessageRequest(null, photoId), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<MessagePage> GetMessagesAsync(string chatId, long? after = null, long? before = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = string.Join("&", new[] { after is null ? null : $"after={after}", before is null ? null : $"before={before}", limit is null ? null : $"limit={limit}" }.OfType<string>());
        return _client.SendAsync<MessagePage>(HttpMethod.Get, $"api/chats/{Uri.EscapeDataString(chatId)}/messages{(query.Length > 0 ? "?" + query : "")}", null, null, cancellationToken);
    }

    public Task<ReceiptsView> MarkReadAsync(string chatId, long sequence, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ReceiptsView>(HttpMethod.Post, $"api/chats/{Uri.EscapeDataString(chatId)}/read", new ReadRequest(sequence), null, cancellationToken);

    public Task<ReceiptsView> GetReceiptsAsync(string chatId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ReceiptsView>(HttpMethod.Get, $"api/chats/{Uri.EscapeDataString(chatId)}/receipts", null, null, cancellationToken);
}

/// <summary>Photos, stored once per request id.</summary>
public sealed class PhotosClient
{
    private readonly HaetaeClient _client;

    internal PhotosClient(HaetaeClient client) => _client = client;

    public Task<PhotoView> UploadAsync(byte[] bytes, string contentType, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<PhotoView>(HttpMethod.Post, "api/photos", new HaetaeClient.RawBody(bytes, contentType), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public async Task<byte[]> GetAsync(string photoId, CancellationToken cancellationToken = default)
    {
        using var response = await _client.SendWithFailoverAsync(HttpMethod.Get, $"api/photos/{Uri.EscapeDataString(photoId)}", null, null, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }
}

/// <summary>The caller's wallet: top-ups and withdrawals through the bank, money for friends, history.</summary>
public sealed class PayClient
{
    private readonly HaetaeClient _client;

    internal PayClient(HaetaeClient client) => _client = client;

    public Task<WalletView> WalletAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<WalletView>(HttpMethod.Get, "api/pay/wallet", null, null, cancellationToken);

    public Task<HistoryPage> HistoryAsync(string? before = null, int? limit = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<HistoryPage>(HttpMethod.Get, $"api/pay/history?{Query(("before", before), ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)))}", null, null, cancellationToken);

    /// <summary>Moves money from the caller's bank account into the wallet; Pending while the bank has not answered.</summary>
    public Task<BankMoveView> TopUpAsync(long amount, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<BankMoveView>(HttpMethod.Post, "api/pay/topups", new BankRequest(amount), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<BankMoveView> WithdrawAsync(long amount, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<BankMoveView>(HttpMethod.Post, "api/pay/withdrawals", new BankRequest(amount), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<BankMoveView> MoveAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendAsync<BankMoveView>(HttpMethod.Get, $"api/pay/moves/{Uri.EscapeDataString(id)}", null, null, cancellationToken);

    public Task<EnvelopeView> SendAsync(string to, long amount, string? chatId = null, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<EnvelopeView>(HttpMethod.Post, "api/pay/envelopes", new SendMoneyRequest(to, amount, chatId), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<EnvelopeView> EnvelopeAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendAsync<EnvelopeView>(HttpMethod.Get, $"api/pay/envelopes/{Uri.EscapeDataString(id)}", null, null, cancellationToken);

    public Task<EnvelopeView> AcceptAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendAsync<EnvelopeView>(HttpMethod.Post, $"api/pay/envelopes/{Uri.EscapeDataString(id)}/accept", null, null, cancellationToken);

    public Task<EnvelopeView> DeclineAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendAsync<EnvelopeView>(HttpMethod.Post, $"api/pay/envelopes/{Uri.EscapeDataString(id)}/decline", null, null, cancellationToken);

    public Task<MerchantView> OpenMerchantAsync(string name, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<MerchantView>(HttpMethod.Post, "api/pay/merchants", new OpenMerchantRequest(name), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<IReadOnlyList<MerchantView>> MerchantsAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<MerchantView>>(HttpMethod.Get, "api/pay/merchants", null, null, cancellationToken);

    /// <summary>The till asks for a payment; its code is what the payer types in.</summary>
    public Task<ChargeView> ChargeAsync(string merchantId, long amount, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Post, $"api/pay/merchants/{Uri.EscapeDataString(merchantId)}/charges", new ChargeRequest(amount), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<ChargeView> ChargeAsync(string chargeId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Get, $"api/pay/charges/{Uri.EscapeDataString(chargeId)}", null, null, cancellationToken);

    public Task<ChargeView> ByCodeAsync(string code, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Get, $"api/pay/codes/{Uri.EscapeDataString(code)}", null, null, cancellationToken);

    /// <summary>The payer approves the payment the code names: the amount is held for the shop.</summary>
    public Task<ChargeView> ApproveAsync(string code, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Post, $"api/pay/codes/{Uri.EscapeDataString(code)}/approve", null, null, cancellationToken);

    public Task<ChargeView> CaptureAsync(string chargeId, long? amount = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Post, $"api/pay/charges/{Uri.EscapeDataString(chargeId)}/capture", new CaptureRequest(amount), null, cancellationToken);

    public Task<ChargeView> VoidAsync(string chargeId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Post, $"api/pay/charges/{Uri.EscapeDataString(chargeId)}/void", null, null, cancellationToken);

    public Task<ChargeView> RefundAsync(string chargeId, long amount, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ChargeView>(HttpMethod.Post, $"api/pay/charges/{Uri.EscapeDataString(chargeId)}/refunds", new RefundRequest(amount), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    private static string Query(params (string Name, string? Value)[] parameters) =>
        string.Join('&', parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}"));
}

/// <summary>Gift vouchers: the catalog, buying for a friend (in a chat), the caller's vouchers, and a shop's till.</summary>
public sealed class GiftsClient
{
    private readonly HaetaeClient _client;

    internal GiftsClient(HaetaeClient client) => _client = client;

    public Task<IReadOnlyList<ProductView>> ProductsAsync(string? merchantId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<ProductView>>(HttpMethod.Get, merchantId is null ? "api/gifts/products" : $"api/gifts/products?merchantId={Uri.EscapeDataString(merchantId)}", null, null, cancellationToken);

    public Task<ProductView> AddProductAsync(string merchantId, string name, ProductKind kind, long price, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProductView>(HttpMethod.Post, "api/gifts/products", new NewProductRequest(merchantId, name, kind, price), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<ProductView> ChangeProductAsync(string productId, ProductChange change, CancellationToken cancellationToken = default) =>
        _client.SendAsync<ProductView>(HttpMethod.Patch, $"api/gifts/products/{Uri.EscapeDataString(productId)}", change, null, cancellationToken);

    /// <summary>Buys <paramref name="productId"/> at the <paramref name="price"/> the buyer was shown, for <paramref name="to"/>; sent in <paramref name="chatId"/> if given.</summary>
    public Task<VoucherView> BuyAsync(string productId, long price, string to, string? chatId = null, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<VoucherView>(HttpMethod.Post, "api/gifts/vouchers", new BuyGiftRequest(productId, price, to, chatId), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<IReadOnlyList<VoucherView>> MineAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<VoucherView>>(HttpMethod.Get, "api/gifts/vouchers", null, null, cancellationToken);

    public Task<VoucherView> VoucherAsync(string voucherId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<VoucherView>(HttpMethod.Get, $"api/gifts/vouchers/{Uri.EscapeDataString(voucherId)}", null, null, cancellationToken);

    /// <summary>The till holds the voucher with <paramref name="code"/> for an order.</summary>
    public Task<RedemptionView> RedeemAsync(string merchantId, string code, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RedemptionView>(HttpMethod.Post, "api/gifts/redemptions", new RedeemRequest(merchantId, code), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<RedemptionView> RedemptionAsync(string redemptionId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RedemptionView>(HttpMethod.Get, $"api/gifts/redemptions/{Uri.EscapeDataString(redemptionId)}", null, null, cancellationToken);

    public Task<RedemptionView> CompleteAsync(string redemptionId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RedemptionView>(HttpMethod.Post, $"api/gifts/redemptions/{Uri.EscapeDataString(redemptionId)}/complete", null, null, cancellationToken);

    public Task<RedemptionView> ReleaseAsync(string redemptionId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RedemptionView>(HttpMethod.Post, $"api/gifts/redemptions/{Uri.EscapeDataString(redemptionId)}/release", null, null, cancellationToken);
}

/// <summary>Scooter rides: the scooters, unlocking one, ending the ride, and uploading a lock the scooter signed for the phone.</summary>
public sealed class RidesClient
{
    private readonly HaetaeClient _client;

    internal RidesClient(HaetaeClient client) => _client = client;

    public Task<IReadOnlyList<ScooterView>> ScootersAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<ScooterView>>(HttpMethod.Get, "api/rides/scooters", null, null, cancellationToken);

    public Task<RideView> StartAsync(string scooterId, string? requestId = null, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RideView>(HttpMethod.Post, "api/rides", new StartRideRequest(scooterId), requestId ?? HaetaeClient.NewRequestId(), cancellationToken);

    public Task<RideView> RideAsync(string rideId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RideView>(HttpMethod.Get, $"api/rides/{Uri.EscapeDataString(rideId)}", null, null, cancellationToken);

    public Task<IReadOnlyList<RideView>> MineAsync(CancellationToken cancellationToken = default) =>
        _client.SendAsync<IReadOnlyList<RideView>>(HttpMethod.Get, "api/rides", null, null, cancellationToken);

    /// <summary>Ends the ride through the platform, which asks the scooter to lock over its network.</summary>
    public Task<RideView> EndAsync(string rideId, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RideView>(HttpMethod.Post, $"api/rides/{Uri.EscapeDataString(rideId)}/end", null, null, cancellationToken);

    /// <summary>Uploads a lock the scooter signed and handed the phone over the short-range channel.</summary>
    public Task<RideView> UploadAsync(SignedScooterEvent signed, CancellationToken cancellationToken = default) =>
        _client.SendAsync<RideView>(HttpMethod.Post, "api/rides/events?from=phone", signed, null, cancellationToken);
}
