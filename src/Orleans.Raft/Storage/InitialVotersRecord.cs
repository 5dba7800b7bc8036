using System.Text;
using System.Text.Json;
using Orleans.Runtime;

namespace Orleans.Raft.Storage;

/// <summary>
/// The initial voters a node was created with, kept beside its log so that a later start with other ones is refused.
/// </summary>
/// <remarks>
/// Raft.Core takes the initial configuration from <c>RaftOptions.Voters</c> at every start; it is not in the log. A
/// node given other initial voters than its peers would count majorities over another set until a configuration entry
/// overrides it, which breaks the overlap of majorities Raft's safety rests on. The likely way to get there is adding a
/// silo's address to <c>Members</c> without pinning <c>InitialVoters</c>, so the check is made where it happens.
/// </remarks>
internal static class InitialVotersRecord
{
    /// <summary>The file's name inside the node's data directory.</summary>
    public const string FileName = "initial-voters.json";

    /// <summary>
    /// Records <paramref name="voters"/> at a node's first start, or checks them against the recorded ones later.
    /// </summary>
    /// <param name="directory">The node's data directory (it exists).</param>
    /// <param name="voters">The initial voters the options give.</param>
    /// <param name="provider">The provider's name, for messages.</param>
    /// <exception cref="OrleansConfigurationException">The options give other initial voters than the recorded ones, or the record is unreadable.</exception>
    public static void Ensure(string directory, IReadOnlyCollection<string> voters, string provider)
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
                    $"(recorded in {path}), but the options now give [{string.Join(", ", given)}]. The initial voters must stay as " +
                    $"the cluster was created on every silo: set InitialVoters to [{string.Join(", ", recorded)}] (Members may list " +
                    "more silos; add them to the group at run time with AddVoterAsync).");
            }

            return;
        }

        // Written whole, flushed to disk, then moved into place: a crash leaves either no record or this one.
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(given));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
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
