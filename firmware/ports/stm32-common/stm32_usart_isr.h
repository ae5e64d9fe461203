/* The USART register layout of the STM32F7, H7 and L4 (ISR/ICR/RDR/TDR, CR1.UE at bit 0). Included by
 * those ports after their own macros; tinyc/deploy/svdcheck.py checks it against each including family's
 * SVD, so a family whose USART differs cannot include it unnoticed. */
#ifndef TINYC_STM32_USART_ISR_H
#define TINYC_STM32_USART_ISR_H

#define USART_CR1 0x00u /* svd-offset: USART1.CR1 */
#define USART_CR1_UE (1u << 0) /* svd: USART1.CR1.UE */
#define USART_CR1_RE (1u << 2) /* svd: USART1.CR1.RE */
#define USART_CR1_TE (1u << 3) /* svd: USART1.CR1.TE */
#define USART_BRR 0x0Cu /* svd-offset: USART1.BRR */
#define USART_ISR 0x1Cu /* svd-offset: USART1.ISR */
#define USART_ISR_ORE (1u << 3) /* svd: USART1.ISR.ORE */
#define USART_ISR_RXNE (1u << 5) /* svd: USART1.ISR.RXNE */
#define USART_ISR_TXE (1u << 7) /* svd: USART1.ISR.TXE */
#define USART_ICR 0x20u /* svd-offset: USART1.ICR */
#define USART_ICR_ORECF (1u << 3) /* svd: USART1.ICR.ORECF */
#define USART_RDR 0x24u /* svd-offset: USART1.RDR */
#define USART_TDR 0x28u /* svd-offset: USART1.TDR */

#endif /* TINYC_STM32_USART_ISR_H */
