using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Protocol;

/// <summary>
/// Whether messages of <typeparamref name="T"/> must go through protobuf's stream codec
/// (<c>ToByteArray</c>/<c>ParseFrom(byte[])</c>): the span and buffer-writer codecs throw when they
/// meet a message type generated without <see cref="IBufferMessage"/>, as the types of
/// Google.Api.CommonProtos 2.0.0 were (google.rpc.Status inside a NACK's error_detail). Decided once
/// per type from its descriptor; a payload is parsed with the stream codec only when it carries one of
/// the fields that lead to such a type, so an ACK (no error_detail) takes the span codec.
/// </summary>
internal static class LegacyCodec<T>
    where T : IMessage<T>
{
    /// <summary>The top-level field numbers whose values reach a legacy type; null when <typeparamref name="T"/> itself is one.</summary>
    private static readonly int[]? LegacyFields = FindLegacyFields();

    /// <summary>True when some message of this type may need the stream codec.</summary>
    public static readonly bool Required = LegacyFields is not { Length: 0 };

    /// <summary>True when <paramref name="payload"/> (one encoded message) must be parsed with the stream codec.</summary>
    public static bool RequiredFor(ReadOnlySequence<byte> payload) =>
        Required && (LegacyFields is null || !payload.IsSingleSegment || Mentions(payload.FirstSpan, LegacyFields));

    /// <summary>
    /// Walks the top-level fields of an encoded message: true when one of <paramref name="fields"/> is
    /// present. Anything it cannot walk (groups, a malformed or truncated field) answers true, so
    /// protobuf's own codec parses it and reports what is wrong.
    /// </summary>
    private static bool Mentions(ReadOnlySpan<byte> data, int[] fields)
    {
        var at = 0;
        while (at < data.Length)
        {
            if (!TryReadVarint(data, ref at, out var tag) || Array.IndexOf(fields, (int)(tag >> 3)) >= 0)
            {
                return true;
            }
            switch ((WireFormat.WireType)(tag & 7))
            {
                case WireFormat.WireType.Varint:
                    if (!TryReadVarint(data, ref at, out _))
                    {
                        return true;
                    }
                    break;
                case WireFormat.WireType.Fixed64:
                    at += 8;
                    break;
                case WireFormat.WireType.Fixed32:
                    at += 4;
                    break;
                case WireFormat.WireType.LengthDelimited:
                    if (!TryReadVarint(data, ref at, out var length) || length > (ulong)(data.Length - at))
                    {
                        return true;
                    }
                    at += (int)length;
                    break;
                default:
                    return true;
            }
        }
        return at != data.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < data.Length; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }
        return false;
    }

    private static int[]? FindLegacyFields()
    {
        if (!typeof(IBufferMessage).IsAssignableFrom(typeof(T)))
        {
            return null;
        }
        var descriptor = typeof(T).GetProperty("Descriptor", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null) as MessageDescriptor;
        if (descriptor is null)
        {
            return [];
        }
        return descriptor.Fields.InFieldNumberOrder()
            .Where(f => f.FieldType is FieldType.Message or FieldType.Group && ReachesLegacyType(f.MessageType))
            .Select(f => f.FieldNumber)
            .ToArray();
    }

    private static bool ReachesLegacyType(MessageDescriptor descriptor)
    {
        var seen = new HashSet<MessageDescriptor>();
        var pending = new Stack<MessageDescriptor>([descriptor]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }
            if (current.ClrType is { } clr && !typeof(IBufferMessage).IsAssignableFrom(clr))
            {
                return true;
            }
            foreach (var field in current.Fields.InFieldNumberOrder())
            {
                if (field.FieldType is FieldType.Message or FieldType.Group)
                {
                    pending.Push(field.MessageType);
                }
            }
        }
        return false;
    }
}
