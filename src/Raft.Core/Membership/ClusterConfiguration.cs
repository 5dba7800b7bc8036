using System.Buffers.Binary;
using System.Text;

namespace Raft.Core.Membership;

/// <summary>Who is in the cluster: the voters, whose majority decides, and the learners, which only receive the log.</summary>
/// <remarks>
/// A configuration change entry carries the whole new configuration, so that the configuration in force is always
/// the one of the latest configuration entry in the log (thesis §4.1: a server uses the latest configuration in its
/// log, committed or not), and truncating that entry restores the one before it.
/// </remarks>
public sealed record ClusterConfiguration
{
    /// <summary>Creates a configuration; ids are kept in ordinal order.</summary>
    /// <param name="voters">The voting members.</param>
    /// <param name="learners">The non-voting members; an id may not be both.</param>
    /// <exception cref="ArgumentException">An id is empty, repeated, or both a voter and a learner.</exception>
    public ClusterConfiguration(IEnumerable<string> voters, IEnumerable<string>? learners = null)
    {
        Voters = Normalize(voters, nameof(voters));
        Learners = Normalize(learners ?? [], nameof(learners));
        var both = Voters.Intersect(Learners, StringComparer.Ordinal).ToArray();
        if (both.Length > 0)
        {
            throw new ArgumentException($"Node '{both[0]}' cannot be both a voter and a learner.", nameof(learners));
        }
    }

    /// <summary>The voting members, in ordinal order.</summary>
    public IReadOnlyList<string> Voters { get; }

    /// <summary>The learners, in ordinal order.</summary>
    public IReadOnlyList<string> Learners { get; }

    /// <summary>Whether <paramref name="id"/> is a voter or a learner.</summary>
    /// <param name="id">A node id.</param>
    /// <returns>True for members.</returns>
    public bool Contains(string id) => IsVoter(id) || Learners.Contains(id, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="id"/> votes.</summary>
    /// <param name="id">A node id.</param>
    /// <returns>True for voters.</returns>
    public bool IsVoter(string id) => Voters.Contains(id, StringComparer.Ordinal);

    /// <summary>Applies one single-server change and returns the resulting configuration.</summary>
    /// <param name="change">The change.</param>
    /// <returns>The new configuration.</returns>
    /// <exception cref="InvalidOperationException">The change does not fit this configuration; the message says why.</exception>
    public ClusterConfiguration Apply(ConfigurationChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var id = change.NodeId;
        switch (change.Kind)
        {
            case ConfigurationChangeKind.AddLearner:
                if (Contains(id))
                {
                    throw new InvalidOperationException($"Node '{id}' is already a member ({(IsVoter(id) ? "voter" : "learner")}).");
                }

                return new ClusterConfiguration(Voters, Learners.Append(id));
            case ConfigurationChangeKind.PromoteLearner:
                if (!Learners.Contains(id, StringComparer.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"Node '{id}' is not a learner; add it as a learner first and let it catch up before promoting it.");
                }

                return new ClusterConfiguration(Voters.Append(id), Learners.Where(l => l != id));
            case ConfigurationChangeKind.Remove:
                if (!Contains(id))
                {
                    throw new InvalidOperationException($"Node '{id}' is not a member of the cluster.");
                }

                if (IsVoter(id) && Voters.Count == 1)
                {
                    throw new InvalidOperationException($"Node '{id}' is the last voter; a cluster needs at least one.");
                }

                return new ClusterConfiguration(Voters.Where(v => v != id), Learners.Where(l => l != id));
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "Unknown configuration change kind.");
        }
    }

    /// <summary>Encodes the configuration for a log entry or a snapshot.</summary>
    /// <returns>The bytes.</returns>
    public byte[] Encode()
    {
        var strings = Voters.Concat(Learners).Select(Encoding.UTF8.GetBytes).ToArray();
        var buffer = new byte[1 + 8 + strings.Sum(s => 4 + s.Length)];
        buffer[0] = 1; // format version
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(1), Voters.Count);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(5), Learners.Count);
        var offset = 9;
        foreach (var s in strings)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), s.Length);
            s.CopyTo(buffer.AsSpan(offset + 4));
            offset += 4 + s.Length;
        }

        return buffer;
    }

    /// <summary>Decodes bytes written by <see cref="Encode"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="FormatException">The bytes are not an encoded configuration.</exception>
    public static ClusterConfiguration Decode(ReadOnlySpan<byte> data)
    {
        try
        {
            if (data.Length < 9 || data[0] != 1)
            {
                throw new FormatException("Not an encoded cluster configuration (unknown version or too short).");
            }

            var voters = BinaryPrimitives.ReadInt32LittleEndian(data[1..]);
            var learners = BinaryPrimitives.ReadInt32LittleEndian(data[5..]);
            if (voters < 0 || learners < 0 || voters + learners > 100_000)
            {
                throw new FormatException("Encoded cluster configuration has an impossible member count.");
            }

            var ids = new List<string>(voters + learners);
            var offset = 9;
            for (var i = 0; i < voters + learners; i++)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
                if (length < 0 || offset + 4 + length > data.Length)
                {
                    throw new FormatException("Encoded cluster configuration is truncated.");
                }

                ids.Add(Encoding.UTF8.GetString(data.Slice(offset + 4, length)));
                offset += 4 + length;
            }

            return new ClusterConfiguration(ids.Take(voters), ids.Skip(voters));
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("Encoded cluster configuration is malformed: " + ex.Message, ex);
        }
    }

    /// <inheritdoc />
    public bool Equals(ClusterConfiguration? other) =>
        other is not null && Voters.SequenceEqual(other.Voters, StringComparer.Ordinal) && Learners.SequenceEqual(other.Learners, StringComparer.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => string.Join(",", Voters).GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() =>
        "voters=(" + string.Join(" ", Voters) + ")" + (Learners.Count > 0 ? " learners=(" + string.Join(" ", Learners) + ")" : "");

    private static string[] Normalize(IEnumerable<string> ids, string name)
    {
        var list = ids.ToArray();
        if (list.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("A node id in the configuration is empty.", name);
        }

        if (list.Distinct(StringComparer.Ordinal).Count() != list.Length)
        {
            throw new ArgumentException("A node id appears twice in the configuration.", name);
        }

        return list.OrderBy(i => i, StringComparer.Ordinal).ToArray();
    }
}
