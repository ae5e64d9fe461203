/* The USART register layout of the STM32F1 and F4 (SR/DR, CR1.UE at bit 13). Included by those ports
 * after their own macros; tinyc/deploy/svdcheck.py checks it against each including family's SVD. */
#ifndef TINYC_STM32_USART_SR_H
#define TINYC_STM32_USART_SR_H

#define USART_SR 0x00u /* svd-offset: USART1.SR */
#define USART_SR_ORE (1u << 3) /* svd: USART1.SR.ORE */
#define USART_SR_RXNE (1u << 5) /* svd: USART1.SR.RXNE */
#define USART_SR_TXE (1u << 7) /* svd: USART1.SR.TXE */
#define USART_DR 0x04u /* svd-offset: USART1.DR */
#define USART_BRR 0x08u /* svd-offset: USART1.BRR */
#define USART_CR1 0x0Cu /* svd-offset: USART1.CR1 */
#define USART_CR1_RE (1u << 2) /* svd: USART1.CR1.RE */
#define USART_CR1_TE (1u << 3) /* svd: USART1.CR1.TE */
#define USART_CR1_UE (1u << 13) /* svd: USART1.CR1.UE */

#endif /* TINYC_STM32_USART_SR_H */
