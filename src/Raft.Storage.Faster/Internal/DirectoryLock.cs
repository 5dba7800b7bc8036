namespace Raft.Storage.Faster.Internal;

// An exclusive lock on a directory: a LOCK file held open with FileShare.None, which .NET maps to flock(LOCK_EX) on
// Unix, so a second opener, in this or another process, fails at once instead of corrupting the files.
internal sealed class DirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream)
    {
        _stream = stream;
    }

    public static DirectoryLock Acquire(string directory, string what)
    {
        var path = Path.Combine(directory, "LOCK");
        try
        {
            return new DirectoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new IOException(
                $"The {what} directory '{directory}' is in use: another store (in this or another process) holds '{path}'. " +
                "Each node needs its own directory, and a store must be disposed before the directory is opened again.",
                ex);
        }
    }

    public void Dispose() => _stream.Dispose();
}
