using ControlPlane.Api.V1;
using ControlPlane.Server.Storage;
using Google.Protobuf;

namespace ControlPlane.Server.Resources;

/// <summary>
/// Encodes endpoint sets incrementally: each endpoint's bytes are kept from one rebuild to the next
/// and encoded again only when its instance changed, and a set's bytes are the concatenation of its
/// endpoints' (a repeated field is the concatenation of its elements, protobuf encoding). So a
/// rebuild after one registration into an image of N instances costs a walk and a copy of N
/// encoded endpoints, not N fresh messages: under a registration storm the discovery cache's worker
/// stays cheap. The bytes equal <see cref="EndpointSetBuilder.Build"/>'s serialized, so versions do
/// not depend on which path built a set. An image is held (and has a set, perhaps with no endpoints)
/// while it has any instance record, expired ones included, as <see cref="EndpointSetBuilder.Build"/>. Thread-safe.
/// </summary>
internal sealed class EndpointSetEncoder
{
    private const byte ImageTag = (1 << 3) | 2; // EndpointSet.image, length-delimited
    private const byte EndpointTag = (2 << 3) | 2; // EndpointSet.endpoints, length-delimited

    private readonly object _lock = new();
    private readonly Dictionary<string, ImageEndpoints> _images = new(StringComparer.Ordinal);

    /// <summary>Images held (for tests: an image with no instance record left is dropped).</summary>
    public int ImageCount
    {
        get
        {
            lock (_lock)
            {
                return _images.Count;
            }
        }
    }

    /// <summary>
    /// The serialized EndpointSet of <paramref name="image"/> from <paramref name="records"/> (its live
    /// instances, ordered by instance id; none when every record is expired), or null when the image has no record.
    /// </summary>
    public ByteString? Encode(string image, IEnumerable<InstanceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(records);
        lock (_lock)
        {
            if (!_images.TryGetValue(image, out var endpoints))
            {
                endpoints = new ImageEndpoints();
                _images.Add(image, endpoints);
            }
            if (!endpoints.Update(image, records))
            {
                _images.Remove(image);
                return null;
            }
            return endpoints.Serialize(image);
        }
    }

    /// <summary>
    /// The serialized EndpointSet of <paramref name="image"/> after a change to only
    /// <paramref name="instanceIds"/>, whose current records are <paramref name="records"/> (in the same
    /// order; null: unknown): the image's other endpoints are kept as held. An image held by none is
    /// taken to have no endpoints yet, so this is exact only when every change since the image's last
    /// <see cref="Encode"/> (or since it had none) was patched in. Null when the image has no record left.
    /// </summary>
    public ByteString? Patch(string image, IReadOnlyList<string> instanceIds, IReadOnlyList<InstanceRecord?> records)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(instanceIds);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentOutOfRangeException.ThrowIfNotEqual(records.Count, instanceIds.Count);
        lock (_lock)
        {
            if (!_images.TryGetValue(image, out var endpoints))
            {
                endpoints = new ImageEndpoints();
                _images.Add(image, endpoints);
            }
            if (!endpoints.Patch(image, instanceIds, records))
            {
                _images.Remove(image);
                return null;
            }
            return endpoints.Serialize(image);
        }
    }

    /// <summary>Forgets the images not in <paramref name="images"/> (after a full listing found no record of theirs).</summary>
    public void RetainOnly(IReadOnlySet<string> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        lock (_lock)
        {
            foreach (var image in _images.Keys.Where(i => !images.Contains(i)).ToList())
            {
                _images.Remove(image);
            }
        }
    }

    private sealed class Entry(string instanceId)
    {
        public string InstanceId { get; } = instanceId;

        public InstanceSpec? Spec { get; set; }

        public bool Draining { get; set; }

        public byte[] Bytes { get; set; } = [];

        public long Seen { get; set; }
    }

    private sealed class ImageEndpoints
    {
        private static readonly Comparison<Entry> ById = (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId);

        private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
        private List<Entry> _ordered = [];
        private long _generation;

        /// <summary>The image's instances whose records are retained but not live (expired): no endpoint, but the image still exists.</summary>
        private readonly HashSet<string> _retained = new(StringComparer.Ordinal);

        /// <summary>Whether the image still has a record: a live endpoint or a retained one.</summary>
        private bool Exists => _ordered.Count > 0 || _retained.Count > 0;

        /// <summary>Brings the entries in line with <paramref name="records"/>; false when the image has no record.</summary>
        public bool Update(string image, IEnumerable<InstanceRecord> records)
        {
            var generation = ++_generation;
            var seen = 0;
            List<Entry>? added = null;
            _retained.Clear();
            foreach (var record in records)
            {
                var spec = record.Spec;
                if (spec.Image != image)
                {
                    continue;
                }
                if (!record.IsLive)
                {
                    _retained.Add(spec.InstanceId);
                    continue;
                }
                var entry = GetOrAdd(spec.InstanceId, ref added);
                if (entry.Seen == generation)
                {
                    continue; // listed twice: the first one counts, as in EndpointSetBuilder
                }
                Refresh(entry, record);
                entry.Seen = generation;
                seen++;
            }

            if (_ordered.Count + (added?.Count ?? 0) != seen)
            {
                // Some instance is gone: keep the order, drop what this listing no longer has.
                _ordered = _ordered.FindAll(e => e.Seen == generation);
                foreach (var id in _byId.Where(p => p.Value.Seen != generation).Select(p => p.Key).ToList())
                {
                    _byId.Remove(id);
                }
            }
            Insert(added);
            // An id listed both live and expired is live (its first live listing counts, as in EndpointSetBuilder).
            if (_retained.Count > 0)
            {
                _retained.ExceptWith(_byId.Keys);
            }
            return Exists;
        }

        /// <summary>Brings the entries of <paramref name="instanceIds"/> in line with their <paramref name="records"/>; false when the image has no record left.</summary>
        public bool Patch(string image, IReadOnlyList<string> instanceIds, IReadOnlyList<InstanceRecord?> records)
        {
            List<Entry>? added = null;
            HashSet<string>? removed = null;
            for (var i = 0; i < instanceIds.Count; i++)
            {
                var id = instanceIds[i];
                var record = records[i];
                var mine = record is not null && record.Spec.Image == image && record.InstanceId == id;
                if (!mine || !record!.IsLive)
                {
                    if (_byId.Remove(id))
                    {
                        (removed ??= new HashSet<string>(StringComparer.Ordinal)).Add(id);
                    }
                    // Expired: retained (no endpoint, the image stays); gone: forgotten.
                    if (mine)
                    {
                        _retained.Add(id);
                    }
                    else
                    {
                        _retained.Remove(id);
                    }
                    continue;
                }
                _retained.Remove(id);
                Refresh(GetOrAdd(id, ref added), record);
            }
            if (removed is not null)
            {
                _ordered = _ordered.FindAll(e => !removed.Contains(e.InstanceId));
                added?.RemoveAll(e => removed.Contains(e.InstanceId));
            }
            Insert(added);
            return Exists;
        }

        /// <summary>The entry of <paramref name="id"/>; a new one is also listed in <paramref name="added"/> (not yet in order).</summary>
        private Entry GetOrAdd(string id, ref List<Entry>? added)
        {
            if (!_byId.TryGetValue(id, out var entry))
            {
                entry = new Entry(id);
                _byId.Add(id, entry);
                (added ??= []).Add(entry);
            }
            return entry;
        }

        /// <summary>Puts the new entries in <paramref name="added"/> into the id order.</summary>
        private void Insert(List<Entry>? added)
        {
            if (added is not null)
            {
                added.Sort(ById);
                _ordered = Merge(_ordered, added);
            }
        }

        /// <summary>Encodes the endpoint again when its instance changed in what nodes are sent.</summary>
        private static void Refresh(Entry entry, InstanceRecord record)
        {
            var spec = record.Spec;
            var draining = record.Status == InstanceStatus.Draining;
            if (entry.Spec is null || entry.Draining != draining || (!ReferenceEquals(entry.Spec, spec) && !entry.Spec.Equals(spec)))
            {
                entry.Spec = spec;
                entry.Draining = draining;
                entry.Bytes = EndpointSetBuilder.ToEndpoint(record).ToByteArray();
            }
        }

        public ByteString Serialize(string image)
        {
            var imageLength = System.Text.Encoding.UTF8.GetByteCount(image);
            var size = 1 + CodedOutputStream.ComputeLengthSize(imageLength) + imageLength;
            foreach (var entry in _ordered)
            {
                size += 1 + CodedOutputStream.ComputeLengthSize(entry.Bytes.Length) + entry.Bytes.Length;
            }
            var bytes = new byte[size];
            var span = bytes.AsSpan();
            span[0] = ImageTag;
            var at = 1 + WriteLength(span[1..], imageLength);
            at += System.Text.Encoding.UTF8.GetBytes(image, span[at..]);
            foreach (var entry in _ordered)
            {
                span[at++] = EndpointTag;
                at += WriteLength(span[at..], entry.Bytes.Length);
                entry.Bytes.CopyTo(span[at..]);
                at += entry.Bytes.Length;
            }
            return UnsafeByteOperations.UnsafeWrap(bytes);
        }

        /// <summary>A base-128 varint, as protobuf writes lengths.</summary>
        private static int WriteLength(Span<byte> destination, int length)
        {
            var value = (uint)length;
            var written = 0;
            while (value >= 0x80)
            {
                destination[written++] = (byte)(value | 0x80);
                value >>= 7;
            }
            destination[written++] = (byte)value;
            return written;
        }

        private static List<Entry> Merge(List<Entry> ordered, List<Entry> added)
        {
            var merged = new List<Entry>(ordered.Count + added.Count);
            int i = 0, j = 0;
            while (i < ordered.Count && j < added.Count)
            {
                merged.Add(ById(ordered[i], added[j]) <= 0 ? ordered[i++] : added[j++]);
            }
            while (i < ordered.Count)
            {
                merged.Add(ordered[i++]);
            }
            while (j < added.Count)
            {
                merged.Add(added[j++]);
            }
            return merged;
        }
    }
}
