using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Protocol;

/// <summary>
/// Whether messages of <typeparamref name="T"/> must go through protobuf's stream codec
/// (<c>ToByteArray</c>/<c>ParseFrom(byte[])</c>): the span and buffer-writer codecs throw when any
/// message type reachable from <typeparamref name="T"/> was generated without
/// <see cref="IBufferMessage"/>, as the types of Google.Api.CommonProtos 2.0.0 were (google.rpc.Status
/// inside a NACK's error_detail). Decided once per type from its descriptor.
/// </summary>
internal static class LegacyCodec<T>
    where T : IMessage<T>
{
    public static readonly bool Required = ReachesLegacyType(typeof(T), GetDescriptor());

    private static MessageDescriptor? GetDescriptor() =>
        typeof(T).GetProperty("Descriptor", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null) as MessageDescriptor;

    private static bool ReachesLegacyType(Type root, MessageDescriptor? descriptor)
    {
        if (!typeof(IBufferMessage).IsAssignableFrom(root))
        {
            return true;
        }
        if (descriptor is null)
        {
            return false;
        }
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
