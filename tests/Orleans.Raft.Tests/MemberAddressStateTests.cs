using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;
using Raft.Core.Messages;

namespace Orleans.Raft.Tests;

// The members' addresses as replicated state: set by committed entries, kept in snapshots (format 3, only when there
// are any), announced to the provider, and copied beside the log.
public sealed class MemberAddressStateTests
{
    private readonly GrainStateMachine _machine = new();
    private readonly List<IReadOnlyDictionary<string, string>> _announced = [];
    private long _index;

    public MemberAddressStateTests() => _machine.MemberAddressesChanged += a => _announced.Add(a);

    [Fact]
    public async Task AnAddress_IsSetByItsEntry_AndAnnouncedOnlyWhenItChanges()
    {
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo3", "10.0.0.4:7001"));
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo3", "10.0.0.4:7001"));
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo4", "10.0.0.5:7001"));
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo3", "10.0.0.9:7001"));

        Assert.Equal(new Dictionary<string, string> { ["silo3"] = "10.0.0.9:7001", ["silo4"] = "10.0.0.5:7001" }, _machine.MemberAddresses);
        Assert.Equal(3, _announced.Count);
        Assert.Equal(_machine.MemberAddresses, _announced[^1]);
    }

    [Fact]
    public async Task ASnapshot_KeepsTheAddresses_AndTheRestoringReplicaAnnouncesThem()
    {
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo3", "10.0.0.4:7001"));
        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);
        Assert.Equal(3, BitConverter.ToInt32(snapshot.GetBuffer(), 4));

        var restored = new GrainStateMachine();
        var announced = new List<IReadOnlyDictionary<string, string>>();
        restored.MemberAddressesChanged += a => announced.Add(a);
        snapshot.Position = 0;
        await restored.RestoreSnapshotAsync(snapshot);

        Assert.Equal(_machine.MemberAddresses, restored.MemberAddresses);
        Assert.Equal(_machine.MemberAddresses, Assert.Single(announced));
    }

    // A snapshot is the whole state: one from before any address was recorded (format 2) leaves none.
    [Fact]
    public async Task RestoringASnapshotWithoutAddresses_ClearsThem_AndAnnouncesIt()
    {
        using var before = new MemoryStream();
        await _machine.WriteSnapshotAsync(before);
        await ApplyAsync(GrainStateCommand.SetMemberAddress("silo3", "10.0.0.4:7001"));

        before.Position = 0;
        await _machine.RestoreSnapshotAsync(before);

        Assert.Empty(_machine.MemberAddresses);
        Assert.Equal(2, _announced.Count);
        Assert.Empty(_announced[^1]);
    }

    // A group that never recorded an address keeps writing format 2, which the previous release reads.
    [Fact]
    public async Task ASnapshotWithoutAddresses_KeepsFormat2()
    {
        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);
        Assert.Equal(2, BitConverter.ToInt32(snapshot.GetBuffer(), 4));
        snapshot.Position = 0;
        await new GrainStateMachine().RestoreSnapshotAsync(snapshot);
    }

    [Fact]
    public void TheCommand_RoundTrips_AndAMalformedOneIsRefused()
    {
        var command = GrainStateCommand.Decode(GrainStateCommand.SetMemberAddress("silo3", "[::1]:7001"));
        Assert.Equal((CommandKind.SetMemberAddress, "silo3", "[::1]:7001"), (command.Kind, command.MemberId, command.MemberAddress));

        byte[] trailing = [.. GrainStateCommand.SetMemberAddress("silo3", "a:1"), 0];
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(trailing));
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(GrainStateCommand.SetMemberAddress("silo3", "a:1")[..^1]));
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(GrainStateCommand.SetMemberAddress("", "a:1")));

        // The kind only exists in format 3, and format 3 has no other.
        var inFormat1 = GrainStateCommand.SetMemberAddress("silo3", "a:1");
        inFormat1[0] = GrainStateCommand.FormatVersion;
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(inFormat1));
        byte[] registrationInFormat3 = [GrainStateCommand.MembersFormatVersion, (byte)CommandKind.RegisterSession];
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(registrationInFormat3));
    }

    [Fact]
    public void TheRecordBesideTheLog_RoundTrips_AndAnUnreadableOneIsIgnoredWithAReason()
    {
        var directory = Directory.CreateTempSubdirectory("member-addresses-").FullName;
        try
        {
            Assert.Empty(MemberAddressesRecord.Load(directory, out var none));
            Assert.Null(none);

            MemberAddressesRecord.Save(directory, new Dictionary<string, string> { ["silo3"] = "10.0.0.4:7001" });
            Assert.Equal(new Dictionary<string, string> { ["silo3"] = "10.0.0.4:7001" }, MemberAddressesRecord.Load(directory, out var problem));
            Assert.Null(problem);

            File.WriteAllText(Path.Combine(directory, MemberAddressesRecord.FileName), "{\"silo3\":");
            Assert.Empty(MemberAddressesRecord.Load(directory, out var truncated));
            Assert.Contains("is not JSON", truncated, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(directory, MemberAddressesRecord.FileName), "{\"silo3\":\"\"}");
            Assert.Empty(MemberAddressesRecord.Load(directory, out var empty));
            Assert.Contains("does not map node ids to addresses", empty, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task ApplyAsync(byte[] command)
    {
        var answer = CommandAnswer.Decode((await _machine.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, command))).Span);
        Assert.Equal(new CommandAnswer(CommandStatus.Applied, _index), answer);
    }
}
