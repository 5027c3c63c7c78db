using Haetae.Client;
using Haetae.Contracts;

namespace Haetae.Testing;

/// <summary>One signed-in person of a <see cref="Scenario"/>: a client that starts at their site, and who they are.</summary>
public sealed record Person(string Name, HaetaeClient Client, UserView User)
{
    public string Id => User.Id;

    public void Deconstruct(out HaetaeClient client, out UserView user) => (client, user) = (Client, User);
}

/// <summary>
/// The set-up a test needs, said once: people (each at a site), who befriends whom, and which chats exist.
/// <code>using var people = await Scenario.On(Cluster).Person("Alice", 0).Person("Bob", 1).Chat("Alice", "Bob").BuildAsync(ct);</code>
/// </summary>
public sealed class Scenario : IDisposable
{
    private readonly Dictionary<string, Person> _people;

    private Scenario(Dictionary<string, Person> people, IReadOnlyList<ChatView> chats) => (_people, Chats) = (people, chats);

    public Person this[string name] => _people[name];

    /// <summary>The chats made by the builder, in the order they were asked for.</summary>
    public IReadOnlyList<ChatView> Chats { get; }

    public static Builder On(TestCluster cluster) => new(cluster);

    public void Dispose()
    {
        foreach (var person in _people.Values)
        {
            person.Client.Dispose();
        }
    }

    public sealed class Builder(TestCluster cluster)
    {
        private readonly List<(string Name, int Site)> _people = [];
        private readonly List<(string From, string To)> _friends = [];
        private readonly List<(string Creator, string[] Members, string? Title)> _chats = [];

        /// <summary>A new person whose client tries site <paramref name="site"/> first (and fails over to the others).</summary>
        public Builder Person(string name, int site)
        {
            _people.Add((name, site));
            return this;
        }

        /// <summary><paramref name="from"/> adds <paramref name="to"/> as a friend.</summary>
        public Builder Friends(string from, string to)
        {
            _friends.Add((from, to));
            return this;
        }

        /// <summary>A chat made by <paramref name="creator"/> with <paramref name="members"/>: direct with one, a group with a title.</summary>
        public Builder Chat(string creator, params string[] members) => Group(null, creator, members);

        public Builder Group(string? title, string creator, params string[] members)
        {
            _chats.Add((creator, members, title));
            return this;
        }

        public async Task<Scenario> BuildAsync(CancellationToken ct)
        {
            var people = new Dictionary<string, Person>();
            try
            {
                foreach (var (name, site) in _people)
                {
                    var (client, user) = await ChatTestUsers.NewAsync(cluster, site, name, ct);
                    people[name] = new Person(name, client, user);
                }

                foreach (var (from, to) in _friends)
                {
                    await people[from].Client.Friends.AddAsync(new AddFriendRequest(people[to].Id, null, null), ct);
                }

                var chats = new List<ChatView>();
                foreach (var (creator, members, title) in _chats)
                {
                    chats.Add(await people[creator].Client.Chat.CreateAsync([.. members.Select(m => people[m].Id)], title, cancellationToken: ct));
                }

                return new Scenario(people, chats);
            }
            catch
            {
                foreach (var person in people.Values)
                {
                    person.Client.Dispose();
                }

                throw;
            }
        }
    }
}
