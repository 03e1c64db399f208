using ControlPlane.Api.V1;
using Google.Protobuf;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// The last configuration the node accepted, on disk: its <see cref="Resource"/> messages exactly as
/// received, length-delimited, in <c>last-known-good.pb</c>. Written to a temporary file in the same
/// directory, flushed to disk, then renamed over the old one, so a crash leaves the old or the new
/// file, never half of one.
/// </summary>
internal sealed class LastKnownGoodStore(string directory)
{
    public const string FileName = "last-known-good.pb";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    public void Save(IReadOnlyList<Resource> resources)
    {
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                foreach (var resource in resources)
                {
                    resource.WriteDelimitedTo(file);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The persisted resources; null when there is no file. Throws <see cref="InvalidProtocolBufferException"/> on a damaged one.</summary>
    public IReadOnlyList<Resource>? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var resources = new List<Resource>();
        while (file.Position < file.Length)
        {
            resources.Add(Resource.Parser.ParseDelimitedFrom(file));
        }
        return resources;
    }
}
