using System.Text;
using System.Text.Json;
using Orleans.Runtime;

namespace Orleans.Raft.Storage;

/// <summary>
/// The initial voters a node was created with, kept beside its log so that a later start with other ones is refused.
/// </summary>
/// <remarks>
/// Raft.Core takes the initial configuration from <c>RaftOptions.Voters</c> (Orleans.Raft: <c>Members</c>) at every
/// start; it is not in the log. A node given other initial voters than its peers would count majorities over another
/// set until a configuration entry overrides it, which breaks the overlap of majorities Raft's safety rests on. The
/// likely way to get there is adding a joining silo to <c>Members</c> instead of <c>AdditionalMembers</c>, so each node
/// checks it at every start. A data directory from before the record gets it at its next start: <c>Members</c> meant
/// the initial voters then too.
/// </remarks>
internal static class InitialVotersRecord
{
    /// <summary>The file's name inside the node's data directory.</summary>
    public const string FileName = "initial-voters.json";

    /// <summary>
    /// Records <paramref name="voters"/> at a node's first start, or checks them against the recorded ones later.
    /// </summary>
    /// <param name="directory">The node's data directory (it exists).</param>
    /// <param name="voters">The initial voters the options give (the ids in <c>Members</c>).</param>
    /// <param name="provider">The provider's name, for messages.</param>
    /// <exception cref="OrleansConfigurationException">The options give other initial voters than the recorded ones, or the record is unreadable.</exception>
    public static void Ensure(string directory, IReadOnlyCollection<string> voters, string provider)
    {
        if (Verify(directory, voters, provider))
        {
            return;
        }

        // Written whole, flushed to disk, then moved into place: a crash leaves either no record or this one.
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(voters.Order(StringComparer.Ordinal).ToArray()));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Checks <paramref name="voters"/> against the recorded initial voters, if there is a record. The options
    /// validator calls it, so that a silo given other ones fails before it starts anything.
    /// </summary>
    /// <param name="directory">The node's data directory (it may not exist yet).</param>
    /// <param name="voters">The initial voters the options give (the ids in <c>Members</c>).</param>
    /// <param name="provider">The provider's name, for messages.</param>
    /// <returns>True when a record exists (and matches).</returns>
    /// <exception cref="OrleansConfigurationException">The recorded initial voters differ, or the record is unreadable.</exception>
    public static bool Verify(string directory, IReadOnlyCollection<string> voters, string provider)
    {
        var path = Path.Combine(directory, FileName);
        var given = voters.Order(StringComparer.Ordinal).ToArray();
        if (File.Exists(path))
        {
            var recorded = Read(path, provider);
            if (!recorded.SequenceEqual(given, StringComparer.Ordinal))
            {
                throw new OrleansConfigurationException(
                    $"Raft grain storage '{provider}': this node was created with the initial voters [{string.Join(", ", recorded)}] " +
                    $"(recorded in {path}), but Members now lists [{string.Join(", ", given)}]. Members must stay the voters the " +
                    $"cluster was created with, on every silo: set Members back to [{string.Join(", ", recorded)}], and list silos " +
                    "that join later in AdditionalMembers (they are added at run time with AddVoterAsync). If this silo is one that " +
                    "was started with the wrong Members by mistake and never took part in the group (its peers refused it, " +
                    $"Raft.Transport.Grpc event 3005), delete {directory} and start it again.");
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// A short fingerprint of the initial voters, sent on the gRPC network's node-to-node calls: a node started with
    /// other initial voters (a joining silo put in <c>Members</c> by mistake) is then refused by its peers, rather than
    /// counting majorities over another set among them.
    /// </summary>
    /// <param name="voters">The initial voters.</param>
    /// <returns>Eight hexadecimal digits.</returns>
    public static string Fingerprint(IEnumerable<string> voters)
    {
        var text = string.Join('\n', voters.Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 4);
    }

    private static string[] Read(string path, string provider)
    {
        try
        {
            var voters = JsonSerializer.Deserialize<string[]>(File.ReadAllBytes(path));
            if (voters is { Length: > 0 } && voters.All(v => !string.IsNullOrWhiteSpace(v)))
            {
                return [.. voters.Order(StringComparer.Ordinal)];
            }
        }
        catch (JsonException)
        {
        }

        throw new OrleansConfigurationException(
            $"Raft grain storage '{provider}': {path} does not hold a list of node ids ({Describe(path)}). It records the initial " +
            "voters this node was created with; restore it from another silo's data directory (the same file on every node).");
    }

    private static string Describe(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return bytes.Length == 0 ? "it is empty" : $"{bytes.Length} bytes starting '{Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 40))}'";
    }
}
